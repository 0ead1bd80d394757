"""bench.openloop_bench and run_all: arms alternate per rate, the same Zipf draws per arm, targets judged."""

from __future__ import annotations

from typing import Any

import pytest

from bench import openloop, openloop_bench, run_all
from bench.openloop import Outcome, Run, Target


def _row(metric: str, rate: int, p99: float | None, **labels: Any) -> dict[str, Any]:
    base = {"sent": 1000, "scheduled": 1000, "unsent": 0, "errors": 0, "p99_ms": p99}
    return {"bench": "openloop_bench", "metric": metric, "value": p99, "unit": "ms", "rate": rate, **base, **labels}


def test_arms_take_turns_going_first_rate_by_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, int, float]] = []

    def fake_attack(targets: list[Target], *, rate: int, seconds: float) -> Run:
        sent.append((targets[0].url, rate, seconds))
        outs = [Outcome(i, (i + 1) / rate, (i + 1) / rate, (i + 1) / rate + 0.001, 200) for i in range(len(targets))]
        return Run(rate, seconds, outs, "fake")

    monkeypatch.setattr(openloop, "attack", fake_attack)

    def arm(name: str) -> openloop_bench.Arm:
        return openloop_bench.Arm("t", name, name, lambda n: [Target("GET", name)] * n)

    rows = openloop_bench.compare([arm("a"), arm("b")], [10, 20, 30], seconds=2)
    warmups, measured = sent[:2], sent[2:]
    assert [(u, s) for u, _, s in warmups] == [
        ("a", openloop_bench.WARMUP_SECONDS),
        ("b", openloop_bench.WARMUP_SECONDS),
    ]
    assert [(u, r) for u, r, _ in measured] == [("a", 10), ("b", 10), ("b", 20), ("a", 20), ("a", 30), ("b", 30)]
    assert [(r["metric"], r["rate"], r["sent"]) for r in rows[:2]] == [("a_p99", 10, 20), ("b_p99", 10, 20)]
    assert all(r["value"] == pytest.approx(1.0) and r["note"] == "" for r in rows)


def test_page_arms_read_the_same_zipf_draws() -> None:
    paths = [f"/berita/{n}" for n in range(500)]
    edge = openloop_bench.zipf_targets("http://edge", paths)(300)
    direct = openloop_bench.zipf_targets("http://publish", paths)(300)
    assert [t.url.removeprefix("http://edge") for t in edge] == [t.url.removeprefix("http://publish") for t in direct]
    assert len({t.url for t in edge}) > 50  # popularity, not one page


def test_outside_edge_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KABAR_EDGE_URL", raising=False)
    monkeypatch.setenv("KABAR_EDGE_URLS", "http://127.0.0.1:7000, http://127.0.0.1:7001")
    assert openloop_bench.outside_edge_url() == "http://127.0.0.1:7000"
    monkeypatch.setenv("KABAR_EDGE_URL", "http://127.0.0.1:6999")
    assert openloop_bench.outside_edge_url() == "http://127.0.0.1:6999"
    monkeypatch.delenv("KABAR_EDGE_URL")
    monkeypatch.delenv("KABAR_EDGE_URLS")
    assert openloop_bench.outside_edge_url() == "http://127.0.0.1:6081"


def _by_target(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["target"].split(" p99")[0]: v for v in openloop_bench.verdicts(rows)}


def test_verdicts_against_the_issue_targets() -> None:
    rows = [
        _row("edge_static_p99", 2000, 2.0),
        _row("edge_page_p99", 2000, 8.0),
        _row("edge_page_p99", 1000, 50.0),  # another rate: not the target's
        _row("article_page_miss_p99", 100, 61.0),
        _row("es_direct_p99", 25, 40.0),
        _row("search_api_p99", 25, 44.0),
        _row("es_direct_p99", 50, 40.0),
        _row("search_api_p99", 50, 52.0),
        _row("echo_baseline_p99", 50, 3.0),
        _row("single_post_p99", 50, 20.0),
    ]
    v = _by_target(rows)
    assert (v["edge pages"]["verdict"], v["edge pages"]["value"]) == ("met", 8.0)
    assert "static file via the same edge p99 2.0 ms" in v["edge pages"]["note"]
    assert v["publish page miss"]["verdict"] == "MISSED"
    search = v["search"]
    assert (search["verdict"], search["value"], search["unit"]) == ("MISSED", 1.3, "x")  # worst rate: 52 / 40
    assert "@25/s met: 1.10x" in search["note"]
    assert v["newsroom POST"]["verdict"] == "met" and "echo baseline p99 3.0 ms" in v["newsroom POST"]["note"]


def test_search_rates_where_elasticsearch_saturates_are_not_judged() -> None:
    rows = [
        _row("es_direct_p99", 25, 40.0, achieved_rps=25.0),
        _row("search_api_p99", 25, 44.0, achieved_rps=25.0),
        _row("es_direct_p99", 100, 5000.0, achieved_rps=47.0),
        _row("search_api_p99", 100, 3000.0, achieved_rps=56.0),
    ]
    search = _by_target(rows)["search"]
    assert (search["verdict"], search["value"]) == ("met", 1.1)
    assert "@100/s n/a: baseline saturated: served 47.0/s of 100/s" in search["note"]


def test_a_target_rate_the_driver_did_not_reach_is_missed() -> None:
    rows = [_row("edge_page_p99", 2000, 4.0, sent=15_000, scheduled=20_000, unsent=5_000)]
    edge = _by_target(rows)["edge pages"]
    assert edge["verdict"] == "MISSED" and edge["note"] == "driver sent 15000 of 20000"


def test_no_edge_is_skipped_not_failed() -> None:
    arm = openloop_bench.Arm("edge", "edge_page", "edge: article pages (Zipf)", lambda n: [])
    rows = [openloop_bench.skipped(arm, 2000, "no edge")]
    assert rows[0]["value"] is None and rows[0]["note"] == "skipped: no edge"
    edge = _by_target(rows)["edge pages"]
    assert (edge["verdict"], edge["note"]) == ("n/a", "skipped: no edge")


def test_run_all_prints_the_open_loop_verdicts() -> None:
    rows = [
        _row("edge_page_p99", 2000, 12.5),
        {"bench": "other", "metric": "edge_page_p99", "value": 1.0, "unit": "ms"},
    ]
    outcome = run_all.Outcome("openloop_bench", "ok", rows=rows)
    figures = {f["figure"]: f for f in run_all.summarise([outcome])}
    edge = figures["open loop: edge pages p99 @ 2000/s"]
    assert (edge["value"], edge["verdict"], edge["target"]) == (12.5, "MISSED", "< 10 ms")
    assert run_all.open_loop_figures([]) == []


def test_pages_are_asked_for_as_a_browser_asks_gzip_accepted() -> None:
    # Without Accept-Encoding the edge unzips its stored page for every request: p99 at 2,000/s was
    # 1,063 ms that way against 7.5 ms with gzip accepted, which is what readers' browsers send.
    pages = openloop_bench.zipf_targets("http://edge", ["/a", "/b", "/c"])(50)
    assert all("gzip" in t.headers.get("Accept-Encoding", "") for t in pages)


def test_the_takedown_figure_is_judged_against_the_freshness_target() -> None:
    rows = [
        {"bench": "edge_takedown", "metric": "edge_withdraw_to_410_p95", "value": 0.061, "unit": "s"},
        {"bench": "edge_takedown", "metric": "publish_withdraw_to_410_p95", "value": 0.072, "unit": "s"},
    ]
    figure = next(
        f for f in run_all.summarise([run_all.Outcome("edge_takedown", "ok", 1.0, rows)]) if "410" in f["figure"]
    )
    assert (figure["value"], figure["verdict"]) == (0.1, "met")
    assert "0.072" in figure["note"]
