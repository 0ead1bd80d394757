"""Run every benchmark in bench/ in sequence, collect what they print, and show one table vs targets.

Each bench runs as its own subprocess (`python -m bench.<name>`), its output streamed through. Results
are its JSON lines in the one schema of harness/results.py ({"bench", "metric", "value", "unit", labels}).
A bench that is missing, fails or times out is reported, never fatal. All results go to
.local/bench/results-<time>.jsonl.

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

from bench.openloop_bench import verdicts as openloop_verdicts  # noqa: E402
from harness.results import emit, find, percentile, print_table, read_results  # noqa: E402

# In this order: throughput first, then latency, then quality.
BENCHES = [
    "ingest_bench", "index_throughput", "search_bench", "openloop_bench", "edge_takedown", "related_eval",
    "freshness", "timing", "text_worst", "comments_bench", "wordpress_bench", "cluster_bench",
]  # fmt: skip
# Shorter runs for --quick; a flag is passed only if the bench's --help lists it.
QUICK_ARGS: dict[str, list[str]] = {
    "ingest_bench": ["--seconds", "2", "--articles", "3000"],
    "index_throughput": ["--articles", "5000"],
    "search_bench": ["--articles", "5000", "--seconds", "8"],
    "openloop_bench": ["--articles", "3000", "--seconds", "3"],
    "edge_takedown": ["--articles", "20"],
    "freshness": ["--quick"],
    "timing": ["--quick"],
    "text_worst": ["--quick"],
    "comments_bench": ["--posts", "200", "--pages", "100", "--flood", "300"],
    "wordpress_bench": ["--posts", "30"],
    "cluster_bench": ["--quick"],
}
# The full run's sizes (issue: backfill and search on >= 50,000 articles).
FULL_ARGS: dict[str, list[str]] = {
    "index_throughput": ["--articles", "50000"],
    "search_bench": ["--articles", "50000"],
    "openloop_bench": ["--articles", "50000"],
}


@dataclass
class Outcome:
    """What one bench produced."""

    name: str
    status: str
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)


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
    return Outcome(name, status, took, read_results(lines))


# ---- figures vs targets -------------------------------------------------------------------------


Found = tuple[float | None, str]


@dataclass(frozen=True)
class Figure:
    label: str
    target: str
    unit: str
    check: Callable[[float], bool]
    find: Callable[[list[dict[str, Any]]], Found]


def _value(row: dict[str, Any] | None, note: str = "") -> Found:
    return (None, "") if row is None else (float(row["value"]), note)


def _bulk_ingest(rows: list[dict[str, Any]]) -> Found:
    """The median of the bulk runs (the best of several flatters), every run listed beside it."""
    bulk = [r for r in rows if r["bench"] == "ingest_bench" and r["metric"] == "bulk_articles_per_s" and r["value"]]
    if not bulk:
        return None, ""
    runs = ", ".join(f"conc {r.get('concurrency')}: {r['value']}" for r in bulk)
    return percentile([float(r["value"]) for r in bulk], 50), f"median of {len(bulk)} runs ({runs})"


def _single_post_p99(concurrency: int) -> Callable[[list[dict[str, Any]]], Found]:
    def found(rows: list[dict[str, Any]]) -> Found:
        echo = find(rows, "ingest_bench", "echo_baseline_p99", concurrency=concurrency)
        post = find(rows, "ingest_bench", "single_post_p99", concurrency=concurrency)
        return _value(post, f"echo baseline p99 {echo['value']} ms" if echo else "")

    return found


def _backfill_ratio(rows: list[dict[str, Any]]) -> Found:
    speeds = [
        f"{r['path']} {r['value']}/s"
        for r in rows
        if r["bench"] == "index_throughput" and r["metric"] in ("pipeline_articles_per_s", "raw_bulk_articles_per_s")
    ]
    return _value(find(rows, "index_throughput", "backfill_ratio_pct"), "; ".join(speeds))


def _search(metric: str, clients: int = 20) -> Callable[[list[dict[str, Any]]], Found]:
    def found(rows: list[dict[str, Any]]) -> Found:
        row = find(rows, "search_bench", metric, clients=clients)
        # Each figure's baseline from the same run: ES direct for search, the page cache off for pages.
        baseline, label = {
            "search_api_p99": ("es_direct_p99", "ES direct"),
            "article_page_p99": ("article_page_nocache_p99", "page cache off"),
        }.get(metric, ("", ""))
        base = find(rows, "search_bench", baseline, clients=clients) if baseline else None
        note = f"{row['rps']:.0f} req/s, {row['errors']} errors" if row else ""
        if row and base:
            note += f"; {label} p99 {base['value']} ms"
        return _value(row, note)

    return found


def _takedown(rows: list[dict[str, Any]]) -> Found:
    base = find(rows, "edge_takedown", "publish_withdraw_to_410_p95")
    note = f"publish direct p95 {base['value']} s" if base else ""
    return _value(find(rows, "edge_takedown", "edge_withdraw_to_410_p95"), note)


def _freshness(rows: list[dict[str, Any]]) -> Found:
    floor = find(rows, "freshness", "es_direct_to_searchable_p95")
    note = f"direct-ES floor p95 {floor['value']} s" if floor else ""
    return _value(find(rows, "freshness", "pipeline_to_searchable_p95"), note)


def _embargo(rows: list[dict[str, Any]]) -> Found:
    base = find(rows, "timing", "now_visible_p95")
    early = find(rows, "timing", "embargo_early")
    note = f"POST -> searchable p95 {base['value']} s in the same run" if base else ""
    if early is not None and early["value"]:
        note += f"; {early['value']} EARLY"
    return _value(find(rows, "timing", "embargo_visible_p95"), note)


def _webhook(rows: list[dict[str, Any]]) -> Found:
    base = find(rows, "timing", "now_webhook_p95")
    note = f"for a story without embargo: POST -> delivered p95 {base['value']} s" if base else ""
    return _value(find(rows, "timing", "embargo_webhook_p95"), note)


def _comments_row(rows: list[dict[str, Any]], metric: str, measure: str) -> dict[str, Any] | None:
    return next(
        (r for r in rows if r["bench"] == "comments_bench" and r["metric"] == metric and r.get("measure") == measure),
        None,
    )


def _comment_post(rows: list[dict[str, Any]]) -> Found:
    """Paced (20 readers, a comment a second each), with /healthz paced alike and the closed loop beside it."""
    base = _comments_row(rows, "p99_ms", "healthz (baseline), paced")
    closed = _comments_row(rows, "p99_ms", "comment POST")
    notes = [f"/healthz paced p99 {base['value']} ms"] if base else []
    if closed:
        notes.append(f"closed loop (saturation) p99 {closed['value']} ms")
    return _value(_comments_row(rows, "p99_ms", "comment POST, paced"), "; ".join(notes))


def _long_thread(rows: list[dict[str, Any]]) -> Found:
    """p50 of the 500-comment article page over the page without comments, one reader at a time (and the page
    with one page of comments beside it: what showing comments costs, apart from how many there are)."""
    pages = {
        r.get("measure"): float(r["value"])
        for r in rows
        if r["bench"] == "comments_bench" and r["metric"] == "p50_ms" and r.get("clients") == 1
    }
    busy = next((v for k, v in pages.items() if k and k.startswith("article, ") and k.endswith("00 comments")), None)
    quiet = pages.get("article, no comments")
    one_page = next((v for k, v in pages.items() if k and k.endswith("(one page)")), None)
    if busy is None or not quiet:
        return None, ""
    note = f"p50 {busy} ms with 500 comments, {quiet} ms without"
    if one_page is not None:
        note += f", {one_page} ms with one page of them"
    return busy / quiet, note


FIGURES = [
    Figure("bulk ingest", ">= 2,000", "articles/s", lambda v: v >= 2000, _bulk_ingest),
    Figure("single POST p99 (1 client)", "< 50", "ms", lambda v: v < 50, _single_post_p99(1)),
    Figure("single POST p99 (10 clients)", "< 50", "ms", lambda v: v < 50, _single_post_p99(10)),
    Figure("freshness p95 (50 art/s)", "< 2.5", "s", lambda v: v < 2.5, _freshness),
    Figure("withdraw -> 410 at the edge p95", "< 2.5", "s", lambda v: v < 2.5, _takedown),
    Figure("embargo time -> searchable p95", "< 2.5", "s", lambda v: v < 2.5, _embargo),
    Figure("embargo time -> webhook delivered p95", "< 2.5", "s", lambda v: v < 2.5, _webhook),
    Figure("backfill vs raw bulk", ">= 85", "%", lambda v: v >= 85, _backfill_ratio),
    Figure("search p99 (20 clients)", "< 80", "ms", lambda v: v < 80, _search("search_api_p99")),
    Figure("article page p99 (Zipf, cached)", "< 30", "ms", lambda v: v < 30, _search("article_page_p99")),
    Figure("comment POST p99 (20 readers, paced)", "< 50", "ms", lambda v: v < 50, _comment_post),
    Figure("500-comment page / empty page (p50)", "<= 1.2", "x", lambda v: v <= 1.2, _long_thread),
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
    return table + open_loop_figures(rows)


def open_loop_figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's open-loop targets as bench.openloop_bench judges them (a run short of its rate is MISSED)."""
    open_loop = [r for r in rows if r["bench"] == "openloop_bench"]
    if not open_loop:
        return []
    return [
        {
            "figure": f"open loop: {v['target']}",
            "value": None if v["value"] is None else round(float(v["value"]), 2),
            "unit": v["unit"],
            "target": v["limit"],
            "verdict": v["verdict"],
            "note": v["note"],
        }
        for v in openloop_verdicts(open_loop)
    ]


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
        emit("run_all", row["figure"], row["value"], row["unit"], **{k: row[k] for k in ("target", "verdict", "note")})
    missing = [o.name for o in outcomes if o.status == "missing"]
    if missing:
        print(f"\nmissing benchmarks (not in bench/ yet): {', '.join(missing)}")
    print(f"all rows: {results.relative_to(ROOT)}")
    return 0 if all(o.status in ("ok", "missing") for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
