"""Search API and article page latency at 20 and 100 concurrent clients on a 20,000-article index.

Loads corpora through the real indexer under a unique prefix, starts its own publish process,
measures Kabar's /api/v1/search next to the same Elasticsearch queries sent directly (the ratio is
Kabar's overhead), then article pages; prints numbers and removes everything it created.

    python bench/search_bench.py [--articles 20000] [--clients 20,100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.cleanup import drop_prefix  # noqa: E402
from harness.corpus import replay_events  # noqa: E402
from harness.procs import kabar_env, start_api  # noqa: E402
from harness.results import emit, summary  # noqa: E402
from services.index.indexing.backfill import apply_in_batches  # noqa: E402
from services.publish.search import SearchParams, build_request  # noqa: E402
from shared.es import IndexNames, create_client, ensure_indices  # noqa: E402
from shared.settings import KabarSettings  # noqa: E402
from shared.state import StateStore  # noqa: E402

BENCH = "search_bench"
KEYWORDS = [
    "pemerintah", "harga", "pemilu", "banjir", "ekonomi", "presiden", "sepak bola", "vaksin", "listrik",
    "pajak", "kebijakan", "jakarta", "polisi", "investasi", "pendidikan", "kesehatan", "inflasi", "menteri",
    "korupsi", "bank indonesia", "gempa", "timnas", "pilkada", "bbm", "rupiah",
]  # fmt: skip


def load(settings: KabarSettings, names: IndexNames, redis: Redis, count: int) -> list[dict[str, Any]]:
    """Replay the corpora with fresh external ids until `count` articles are indexed; returns titles/paths."""
    es = create_client(settings)
    ensure_indices(es, names)
    store = StateStore(redis, settings.prefix)
    events = replay_events(count, newsroom="bench", tag=settings.prefix)
    started = time.perf_counter()
    apply_in_batches(es=es, store=store, names=names, events=events)
    total = es.count(index=names.articles)["count"]
    print(f"indexed {total} articles in {time.perf_counter() - started:.1f}s")
    hits = es.search(index=names.articles, size=2000, source_includes=["title", "path"], query={"match_all": {}})
    es.close()
    return [h["_source"] for h in hits["hits"]["hits"]]


def query_mix(docs: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, str]]:
    """Half title fragments (3-6 words), half keywords; one in five with a sort or date filter."""
    out: list[dict[str, str]] = []
    for i in range(n):
        if i % 2:
            words = rng.choice(docs)["title"].split()
            size = min(len(words), rng.randint(3, 6))
            start = rng.randint(0, len(words) - size)
            params = {"q": " ".join(words[start : start + size])}
        else:
            params = {"q": rng.choice(KEYWORDS)}
        if i % 5 == 0:
            params["sort"] = "newest"
        elif i % 7 == 0:
            params["date_from"] = "2020-01-01"
        out.append(params)
    return out


async def run(
    metric: str,
    name: str,
    clients: int,
    seconds: float,
    make: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
) -> dict[str, Any]:
    """`clients` concurrent loops for `seconds`: one result, the p99 in ms, with p50 and requests per second."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            i = next(counter)
            t0 = time.perf_counter()
            try:
                resp = await make(client, i)
            except httpx.TransportError:
                # A dropped keep-alive connection is an error to count, not a reason to stop measuring.
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            if resp.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        for i in range(clients):  # warm-up, also opens the connections
            await make(client, i)
        started = time.perf_counter()
        await asyncio.gather(*(loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ms = summary(latencies, digits=1)
    rps = round(len(latencies) / elapsed, 1)
    labels = {"name": name, "clients": clients, "requests": len(latencies), "errors": errors, "rps": rps}
    return emit(BENCH, f"{metric}_p99", ms.get("p99"), "ms", p50_ms=ms.get("p50"), **labels)


async def bench(publish_url: str, es_url: str, names: IndexNames, docs: list[dict[str, Any]], args: Any) -> None:
    rng = random.Random(7)
    mix = query_mix(docs, 2000, rng)
    # The very bodies Kabar sends, built by the same function from the same parameters.
    bodies = [
        build_request(
            SearchParams(
                q=p["q"],
                sort="newest" if p.get("sort") == "newest" else "relevance",
                date_from=date.fromisoformat(p["date_from"]) if "date_from" in p else None,
            )
        )
        for p in mix
    ]

    async def api(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"{publish_url}/api/v1/search", params=mix[i % len(mix)])

    async def direct(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.post(f"{es_url}/{names.articles}/_search", json=bodies[i % len(bodies)])

    paths = [d["path"] for d in docs]
    # Readers crowd onto a few stories: Zipf-like popularity (weight 1/rank) over the same articles.
    popular = rng.choices(paths, weights=[1 / (rank + 1) for rank in range(len(paths))], k=5000)

    async def article(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(publish_url + paths[i % len(paths)])

    async def article_popular(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(publish_url + popular[i % len(popular)])

    for n, clients in enumerate(args.clients):
        # The first level keeps the plain names (bench/run_all.py reads them); later ones say their level.
        tag = "" if n == 0 else f" @{clients}"
        print(f"\n{clients} clients, {args.seconds:.0f}s each, {len(mix)} distinct searches")
        direct_r = await run("es_direct", f"ES direct (same queries){tag}", clients, args.seconds, direct)
        api_r = await run("search_api", f"Kabar /api/v1/search{tag}", clients, args.seconds, api)
        page_r = await run("article_page", f"Kabar article pages (uniform){tag}", clients, args.seconds, article)
        hot_r = await run(
            "article_page_zipf", f"Kabar article pages (Zipf){tag}", clients, args.seconds, article_popular
        )
        print(
            f"\nsearch overhead ratio (Kabar/ES) at {clients} clients: "
            f"p50 {api_r['p50_ms'] / direct_r['p50_ms']:.2f}x, p99 {api_r['value'] / direct_r['value']:.2f}x"
        )
        print(f"targets at {clients} clients: search p99 < 80 ms -> {'met' if api_r['value'] < 80 else 'MISSED'}; "
              f"article page p99 < 30 ms -> {'met' if page_r['value'] < 30 else 'MISSED'}; "
              f"{page_r['rps']:.0f} pages/s uniform, {hot_r['rps']:.0f} pages/s Zipf "
              f"(p99 {hot_r['value']:.1f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument(
        "--clients",
        type=lambda v: [int(c) for c in v.split(",")],
        default=[20, 100],
        help="concurrency levels, comma-separated (default 20,100)",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = KabarSettings(prefix=prefix)
    names = IndexNames(prefix)
    redis = Redis.from_url(settings.redis_url)
    env = kabar_env(prefix, KABAR_LOG_LEVEL="WARNING", KABAR_ES_URL=settings.es_url)
    proc = None
    try:
        docs = load(settings, names, redis, args.articles)
        proc, url = start_api("publish-bench", "services.publish.app:create_app", env)
        asyncio.run(bench(url, settings.es_url, names, docs, args))
    finally:
        if proc is not None:
            proc.stop()
        redis.close()
        drop_prefix(prefix)


if __name__ == "__main__":
    main()
