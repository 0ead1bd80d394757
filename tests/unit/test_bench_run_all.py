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


def test_article_page_figure_shows_the_cache_off_baseline() -> None:
    def row(metric: str, value: float) -> dict[str, object]:
        return {"bench": "search_bench", "metric": metric, "value": value, "unit": "ms", "clients": 20}

    rows = [{**row("article_page_p99", 12.0), "rps": 300.0, "errors": 0}, row("article_page_nocache_p99", 48.0)]
    figure = next(f for f in run_all.FIGURES if f.label.startswith("article page"))
    assert figure.find(rows) == (12.0, "300 req/s, 0 errors; page cache off p99 48.0 ms")
