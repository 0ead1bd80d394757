"""bench.index_throughput: the pipeline and raw bulk take turns going first over equal shares of the articles."""

from __future__ import annotations

from bench import index_throughput


def test_paths_take_turns_over_every_article() -> None:
    plan = index_throughput.turns(1001, 2)
    assert plan == [("pipeline", 0, 500), ("raw", 0, 500), ("raw", 500, 1001), ("pipeline", 500, 1001)]
    for path in ("pipeline", "raw"):
        assert sum(stop - start for p, start, stop in plan if p == path) == 1001


def test_one_round_is_the_old_single_pass() -> None:
    assert index_throughput.turns(100, 1) == [("pipeline", 0, 100), ("raw", 0, 100)]
