"""bench.search_bench: Zipf page popularity over every article, a cache-off page baseline, alternating order."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import Any

import pytest

from bench import search_bench
from services.publish.config import PublishSettings


def _draws(items: list[str], n: int, seed: int) -> list[str]:
    return list(itertools.islice(search_bench.zipf_stream(items, seed=seed), n))


def test_pages_are_drawn_from_every_article_not_a_fixed_few() -> None:
    paths = [f"/berita/{n}" for n in range(10_000)]
    draws = _draws(paths, 30_000, seed=7)
    # With 1/rank popularity over 10,000 articles about 16 % of reads fall outside the top 2,000.
    assert len(set(draws)) > 3_000
    ranks = collections.Counter(draws).most_common()
    top, second = ranks[0][1], ranks[1][1]
    assert 0.08 < top / len(draws) < 0.12  # 1 / H(10,000) = 0.102
    assert 1.6 < top / second < 2.5  # Zipf: the second story is read about half as often as the first


def test_page_draws_are_seeded() -> None:
    paths = [f"/berita/{n}" for n in range(5_000)]
    assert _draws(paths, 2_000, seed=7) == _draws(paths, 2_000, seed=7)
    assert _draws(paths, 2_000, seed=7) != _draws(paths, 2_000, seed=8)


def test_the_cache_off_publish_really_has_no_page_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    env = search_bench.cache_off_env({"KABAR_PREFIX": "bench0", "KABAR_PAGE_CACHE_SECONDS": "5"})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert PublishSettings().page_cache_seconds == 0


def test_runs_alternate_order_per_round_and_both_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    async def fake_measure(clients: int, seconds: float, make: Any, counter: Any = None) -> search_bench.Sample:
        order.append(await make(None, 0))
        return search_bench.Sample(latencies_ms=[1.0, 2.0], errors=0, elapsed=seconds)

    def arm(metric: str) -> search_bench.Arm:
        async def make(client: Any, i: int) -> str:
            return metric

        return search_bench.Arm(metric, metric, make)

    monkeypatch.setattr(search_bench, "measure", fake_measure)
    rows = asyncio.run(search_bench.compare([arm("es_direct"), arm("search_api")], clients=2, seconds=4, rounds=4))
    assert order == ["es_direct", "search_api", "search_api", "es_direct"] * 2
    assert [r["metric"] for r in rows] == ["es_direct_p99", "search_api_p99"]
    assert all(r["requests"] == 8 and r["rps"] == 2.0 for r in rows)  # pooled over the four rounds
