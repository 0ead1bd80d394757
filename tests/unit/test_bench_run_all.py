"""bench.run_all: the bulk ingest figure is the median of the runs, with every run beside it."""

from __future__ import annotations

from bench import run_all


def _bulk(value: float, concurrency: int) -> dict[str, object]:
    return {
        "bench": "ingest_bench",
        "metric": "bulk_articles_per_s",
        "value": value,
        "unit": "articles/s",
        "concurrency": concurrency,
    }


def test_bulk_ingest_reports_the_median_not_the_best() -> None:
    rows = [_bulk(1500.0, 1), _bulk(3100.0, 4), _bulk(2200.0, 8)]
    value, note = run_all._bulk_ingest(rows)
    assert value == 2200.0
    assert "median of 3 runs" in note
    assert all(str(v) in note for v in ("1500", "3100", "2200"))


def test_bulk_ingest_without_runs() -> None:
    assert run_all._bulk_ingest([]) == (None, "")
