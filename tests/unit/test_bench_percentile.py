"""One percentile for every bench: harness.results.percentile; no bench keeps a percentile of its own."""

from __future__ import annotations

import ast
from pathlib import Path

from harness.results import percentile

ROOT = Path(__file__).resolve().parents[2]
OWN = ("percentile", "pct", "quantile", "median")


def test_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0
    assert percentile(list(map(float, range(2000))), 2.5) == 49.0


def test_p999_is_not_pushed_a_rank_up_by_floating_point() -> None:
    # 99.9 / 100 * 1000 is 999.0000000000001: the 999th value, not the maximum.
    assert percentile(list(map(float, range(1, 1001))), 99.9) == 999.0
    assert percentile(list(map(float, range(1, 1002))), 99.9) == 1000.0  # 999.999 rounds up to rank 1000


def _hand_made(node: ast.AST) -> bool:
    """`ordered[int(0.95 * n)]` and the like: a fraction of a length used as an index."""
    if not isinstance(node, ast.Subscript):
        return False
    return any(
        isinstance(c, ast.Constant) and isinstance(c.value, float) and 0 < c.value < 1 for c in ast.walk(node.slice)
    )


def test_no_other_percentile_in_the_benches() -> None:
    found = []
    for path in [*ROOT.glob("bench/*.py"), *ROOT.glob("harness/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            own = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(w in node.name.lower() for w in OWN)
            if own and (path.name, node.name) != ("results.py", "percentile"):
                found.append(f"{path.name}:{node.lineno} def {node.name}")
            if isinstance(node, ast.Attribute) and any(w in node.attr.lower() for w in OWN):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            if _hand_made(node):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert found == []
