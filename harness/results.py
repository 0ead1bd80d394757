"""Bench results: percentiles, the order of same-run comparisons, and the one JSON-lines schema every bench
prints and bench/run_all.py reads.

A result is one JSON object on a line of its own: `bench` (which program), `metric` (what was measured),
`value` (a number, or null when it could not be measured), `unit`; any other keys are labels of the
measurement (`concurrency`, `clients`, `path`, `target`, `met`, ...).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

RESULT_KEYS = ("bench", "metric", "value", "unit")
T = TypeVar("T")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    # Rounded first: 99.9 / 100 * 1000 is 999.0000000000001 in floating point, and its ceiling would be 1000.
    rank = max(1, math.ceil(round(p / 100 * len(ordered), 9)))
    return ordered[rank - 1]


def alternating(arms: Sequence[T], rounds: int) -> list[list[T]]:
    """The order to run `arms` in, round by round: as given, then reversed, and so on (AB, BA, AB, ...).

    A measurement run first warms caches (the page cache, the OS's, Elasticsearch's) for the ones after it;
    alternating makes each arm go first as often as the others, so neither warms the other for free.
    """
    return [list(arms) if r % 2 == 0 else list(reversed(arms)) for r in range(rounds)]


def summary(values: Sequence[float], *, digits: int = 3) -> dict[str, float]:
    """n, p50, p95, p99, max and mean of a sample."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
        "mean": round(sum(values) / len(values), digits),
    }


def emit(bench: str, metric: str, value: float | None, unit: str, **labels: Any) -> dict[str, Any]:
    """Print one result as a JSON line and return it."""
    row = {"bench": bench, "metric": metric, "value": value, "unit": unit, **labels}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def read_results(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The results among a bench's output lines (anything else it printed is passed over)."""
    rows = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and all(key in row for key in RESULT_KEYS):
            rows.append(row)
    return rows


def find(rows: Iterable[dict[str, Any]], bench: str, metric: str, **labels: Any) -> dict[str, Any] | None:
    """The first measured result of `bench` named `metric` whose labels match."""
    wanted = {"bench": bench, "metric": metric, **labels}
    return next(
        (r for r in rows if r["value"] is not None and all(r.get(k) == v for k, v in wanted.items())),
        None,
    )


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], *, title: str | None = None) -> None:
    """A plain fixed-width table of the given columns."""
    rows = list(rows)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
