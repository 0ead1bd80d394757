"""Run every benchmark in bench/ in sequence, collect what they print, and show one table vs targets.

Each bench runs as its own subprocess (`python -m bench.<name>`), its output streamed through. Results
are read from JSON lines (the convention: {"bench", "metric", "value", "unit"}; older shapes such as
ingest_bench's per-run rows are read too) and from search_bench's text lines. A bench that is missing,
fails or times out is reported, never fatal. All rows go to .local/bench/results-<time>.jsonl.

    python -m bench.run_all [--quick] [--only freshness,search_bench] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import print_table  # noqa: E402

# In this order: throughput first, then latency, then quality.
BENCHES = ["ingest_bench", "index_throughput", "search_bench", "related_eval", "freshness", "text_worst"]
# Shorter runs for --quick; a flag is passed only if the bench's --help lists it.
QUICK_ARGS: dict[str, list[str]] = {
    "ingest_bench": ["--seconds", "2", "--articles", "3000"],
    "index_throughput": ["--articles", "5000"],
    "search_bench": ["--articles", "5000", "--seconds", "8"],
    "freshness": ["--quick"],
    "text_worst": ["--quick"],
}
# The full run's sizes (issue: backfill and search on >= 50,000 articles).
FULL_ARGS: dict[str, list[str]] = {
    "index_throughput": ["--articles", "50000"],
    "search_bench": ["--articles", "50000"],
}
_SEARCH_LINE = re.compile(
    r"^(?P<name>.+?)\s+n=\s*(?P<n>\d+)\s+err=(?P<err>\d+)\s+p50=\s*(?P<p50>[\d.]+) ms\s+"
    r"p99=\s*(?P<p99>[\d.]+) ms\s+(?P<rps>[\d.]+) req/s"
)


@dataclass
class Outcome:
    """What one bench produced."""

    name: str
    status: str
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)


def parse_output(name: str, text: str) -> list[dict[str, Any]]:
    """Every JSON object line, plus search_bench-style text lines turned into rows."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append({"_source": name, **row})
        elif m := _SEARCH_LINE.match(line):
            rows.append(
                {
                    "_source": name,
                    "bench": name,
                    "name": m["name"].strip(),
                    "requests": int(m["n"]),
                    "errors": int(m["err"]),
                    "p50_ms": float(m["p50"]),
                    "p99_ms": float(m["p99"]),
                    "rps": float(m["rps"]),
                }
            )
    return rows


def supported_args(name: str, wanted: list[str]) -> list[str]:
    """Keep only the flags (and their values) that the bench's --help mentions."""
    try:
        help_text = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
        ).stdout
    except subprocess.TimeoutExpired:
        return []
    out: list[str] = []
    i = 0
    while i < len(wanted):
        flag = wanted[i]
        takes_value = i + 1 < len(wanted) and not wanted[i + 1].startswith("--")
        if re.search(rf"(^|\s){re.escape(flag)}\b", help_text):
            out += wanted[i : i + 2] if takes_value else [flag]
        i += 2 if takes_value else 1
    return out


def run_bench(name: str, *, quick: bool, timeout: float) -> Outcome:
    if not (ROOT / "bench" / f"{name}.py").exists():
        return Outcome(name, "missing")
    args = supported_args(name, (QUICK_ARGS if quick else FULL_ARGS).get(name, []))
    cmd = [sys.executable, "-m", f"bench.{name}", *args]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    assert proc.stdout is not None
    watchdog = threading.Timer(timeout, proc.kill)  # a hung bench must not stall the whole run
    watchdog.start()
    try:
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        code = proc.wait()
    finally:
        watchdog.cancel()
    took = time.monotonic() - started
    status = "timeout" if took >= timeout else ("ok" if code == 0 else f"exit {code}")
    return Outcome(name, status, took, parse_output(name, "".join(lines)))


# ---- figures vs targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    target: str
    unit: str
    check: Callable[[float], bool]
    find: Callable[[list[dict[str, Any]]], tuple[float | None, str]]


def _metric(rows: list[dict[str, Any]], source: str, metric: str) -> tuple[float | None, str]:
    for row in rows:
        if row.get("_source") == source and row.get("metric") == metric and row.get("value") is not None:
            return float(row["value"]), ""
    return None, ""


def _bulk_ingest(rows: list[dict[str, Any]]) -> tuple[float | None, str]:
    found, note = _metric(rows, "ingest_bench", "bulk_articles_per_s")
    if found is not None:
        return found, note
    bulk = [r for r in rows if r.get("_source") == "ingest_bench" and "bulk" in str(r.get("bench", ""))]
    best = max(bulk, key=lambda r: r.get("articles_per_s") or 0, default=None)
    if best is None or best.get("articles_per_s") is None:
        return None, ""
    return float(best["articles_per_s"]), f"best of {len(bulk)} runs (conc {best.get('concurrency')})"


def _single_post_p99(concurrency: int) -> Callable[[list[dict[str, Any]]], tuple[float | None, str]]:
    def find(rows: list[dict[str, Any]]) -> tuple[float | None, str]:
        mine = [r for r in rows if r.get("_source") == "ingest_bench" and r.get("concurrency") == concurrency]
        post = next((r for r in mine if r.get("bench") == "single_post" and r.get("p99_ms") is not None), None)
        if post is None:
            return None, ""
        echo = next((r.get("p99_ms") for r in mine if r.get("bench") == "echo_baseline"), None)
        return float(post["p99_ms"]), f"echo baseline p99 {echo} ms" if echo is not None else ""

    return find


def _backfill_ratio(rows: list[dict[str, Any]]) -> tuple[float | None, str]:
    for r in rows:
        if r.get("_source") == "index_throughput" and r.get("ratio_pipeline_to_raw") is not None:
            speeds = [
                f"{x['path']} {x['articles_per_s']}/s"
                for x in rows
                if x.get("_source") == "index_throughput" and "articles_per_s" in x
            ]
            return float(r["ratio_pipeline_to_raw"]) * 100, "; ".join(speeds)
    return _metric(rows, "index_throughput", "backfill_ratio_pct")


def _search_line(prefix: str) -> Callable[[list[dict[str, Any]]], tuple[float | None, str]]:
    def find(rows: list[dict[str, Any]]) -> tuple[float | None, str]:
        for r in rows:
            if r.get("_source") == "search_bench" and str(r.get("name", "")).startswith(prefix):
                direct = next(
                    (x["p99_ms"] for x in rows if str(x.get("name", "")).startswith("ES direct")),
                    None,
                )
                note = f"{r['rps']:.0f} req/s, {r['errors']} errors"
                if direct is not None and prefix.endswith("search"):
                    note += f"; ES direct p99 {direct} ms"
                return float(r["p99_ms"]), note
        return None, ""

    return find


def _freshness(rows: list[dict[str, Any]]) -> tuple[float | None, str]:
    value, _ = _metric(rows, "freshness", "pipeline_to_searchable_p95")
    floor, _ = _metric(rows, "freshness", "es_direct_to_searchable_p95")
    return value, f"direct-ES floor p95 {floor} s" if floor is not None else ""


FIGURES = [
    Figure("bulk ingest", ">= 2,000", "articles/s", lambda v: v >= 2000, _bulk_ingest),
    Figure("single POST p99 (1 client)", "< 50", "ms", lambda v: v < 50, _single_post_p99(1)),
    Figure("single POST p99 (10 clients)", "< 50", "ms", lambda v: v < 50, _single_post_p99(10)),
    Figure("freshness p95 (50 art/s)", "< 2.5", "s", lambda v: v < 2.5, _freshness),
    Figure("backfill vs raw bulk", ">= 70", "%", lambda v: v >= 70, _backfill_ratio),
    Figure("search p99 (20 clients)", "< 80", "ms", lambda v: v < 80, _search_line("Kabar /api/v1/search")),
    Figure("article page p99", "< 30", "ms", lambda v: v < 30, _search_line("Kabar article pages")),
]


def summarise(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    rows = [r for o in outcomes for r in o.rows]
    table = []
    for fig in FIGURES:
        value, note = fig.find(rows)
        verdict = "n/a" if value is None else ("met" if fig.check(value) else "MISSED")
        table.append(
            {
                "figure": fig.label,
                "value": None if value is None else round(value, 1),
                "unit": fig.unit,
                "target": fig.target,
                "verdict": verdict,
                "note": note,
            }
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs of every bench that supports them")
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per bench")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or BENCHES

    outcomes = [run_bench(name, quick=args.quick, timeout=args.timeout) for name in names]

    out_dir = ROOT / ".local" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / f"results-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    with results.open("w") as fh:
        for o in outcomes:
            for row in o.rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    print_table(
        [{"bench": o.name, "status": o.status, "seconds": round(o.seconds, 1), "rows": len(o.rows)} for o in outcomes],
        ["bench", "status", "seconds", "rows"],
        title="benchmarks run",
    )
    table = summarise(outcomes)
    print_table(table, ["figure", "value", "unit", "target", "verdict", "note"], title="figures vs targets")
    for row in table:
        print(json.dumps({"bench": "run_all", "metric": row["figure"], **{k: row[k] for k in row if k != "figure"}}))
    missing = [o.name for o in outcomes if o.status == "missing"]
    if missing:
        print(f"\nmissing benchmarks (not in bench/ yet): {', '.join(missing)}")
    print(f"all rows: {results.relative_to(ROOT)}")
    return 0 if all(o.status in ("ok", "missing") for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
