"""Search API and article page latency at 20 and 100 concurrent clients on a 20,000-article index.

Loads corpora through the real indexer under a unique prefix and starts its own publish processes.
Measures Kabar's /api/v1/search next to the same Elasticsearch queries sent directly (the ratio is
Kabar's overhead), then article pages read with a Zipf popularity over every loaded article (seeded)
from a publish process with its page cache on, next to one with it off (every page a miss). Each pair
runs in `--rounds` alternating turns (AB, BA, ...), pooled, so neither warms caches for the other.
Prints JSON lines and one table, and removes everything it created.

    python bench/search_bench.py [--articles 20000] [--clients 20,100] [--seconds 20] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
from elasticsearch import helpers
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.cleanup import drop_prefix  # noqa: E402
from harness.corpus import replay_events  # noqa: E402
from harness.procs import Proc, kabar_env, start_api  # noqa: E402
from harness.results import alternating, emit, print_table, summary  # noqa: E402
from services.index.indexing.backfill import apply_in_batches  # noqa: E402
from services.publish.search import SearchParams, build_request  # noqa: E402
from shared.es import IndexNames, create_client, ensure_indices  # noqa: E402
from shared.settings import KabarSettings  # noqa: E402
from shared.state import StateStore  # noqa: E402

BENCH = "search_bench"
PAGE_SEED = 7
T = TypeVar("T")
Make = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
KEYWORDS = [
    "pemerintah", "harga", "pemilu", "banjir", "ekonomi", "presiden", "sepak bola", "vaksin", "listrik",
    "pajak", "kebijakan", "jakarta", "polisi", "investasi", "pendidikan", "kesehatan", "inflasi", "menteri",
    "korupsi", "bank indonesia", "gempa", "timnas", "pilkada", "bbm", "rupiah",
]  # fmt: skip


def load(settings: KabarSettings, names: IndexNames, redis: Redis, count: int) -> list[dict[str, Any]]:
    """Replay the corpora with fresh external ids until `count` articles are indexed; returns every title/path."""
    es = create_client(settings)
    ensure_indices(es, names)
    store = StateStore(redis, settings.prefix)
    events = replay_events(count, newsroom="bench", tag=settings.prefix)
    started = time.perf_counter()
    apply_in_batches(es=es, store=store, names=names, events=events)
    total = es.count(index=names.articles)["count"]
    print(f"indexed {total} articles in {time.perf_counter() - started:.1f}s")
    hits = helpers.scan(es, index=names.articles, query={"query": {"match_all": {}}}, _source=["title", "path"])
    docs = [h["_source"] for h in hits]
    es.close()
    return docs


def zipf_stream(items: Sequence[T], *, seed: int, exponent: float = 1.0) -> Iterator[T]:
    """Items drawn without end with Zipf popularity: the k-th most read is read 1/k**exponent as often as the first.

    Which item gets which rank is a seeded shuffle, so the popular stories are not the index's first ones;
    the same seed gives the same sequence, so two runs read the very same pages.
    """
    rng = random.Random(seed)
    ranked = list(items)
    rng.shuffle(ranked)
    cum_weights = list(itertools.accumulate(1 / rank**exponent for rank in range(1, len(ranked) + 1)))
    while True:
        yield from rng.choices(ranked, cum_weights=cum_weights, k=1024)


PUBLISH_APP = "services.publish.app:create_app"


def cache_off_env(env: dict[str, str]) -> dict[str, str]:
    """A publish process's environment with its page cache off: every article page is rendered (a miss)."""
    return {**env, "KABAR_PAGE_CACHE_SECONDS": "0"}


def start_publish_pair(name: str, env: dict[str, str], procs: list[Proc]) -> tuple[str, str]:
    """Publish with its page cache on, and a second with it off (the cache-off baseline); both added to procs."""
    proc, url = start_api(name, PUBLISH_APP, env)
    procs.append(proc)
    proc, nocache_url = start_api(f"{name}-nocache", PUBLISH_APP, cache_off_env(env))
    procs.append(proc)
    return url, nocache_url


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


@dataclass
class Sample:
    """Latencies (ms), errors and the elapsed seconds of one or more measurements of one arm."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def add(self, other: Sample) -> None:
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.elapsed += other.elapsed


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: the result's metric and name, and how to make one request."""

    metric: str
    name: str
    make: Make


async def measure(clients: int, seconds: float, make: Make, counter: Iterator[int] | None = None) -> Sample:
    """`clients` concurrent loops for `seconds`, after one unmeasured request per client.

    Request i is make(client, i), i from `counter`: an arm measured in turns goes on where it stopped
    rather than repeating its first requests (which the other arm's turn may have warmed).
    """
    latencies: list[float] = []
    errors = 0
    counter = counter if counter is not None else itertools.count()
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
        for _ in range(clients):  # warm-up, also opens the connections
            await make(client, next(counter))
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Sample(latencies, errors, elapsed)


async def compare(arms: Sequence[Arm], *, clients: int, seconds: float, rounds: int) -> list[dict[str, Any]]:
    """Each arm for `seconds` in all, in `rounds` turns taken alternately; one result per arm, pooled."""
    samples = {arm.metric: Sample() for arm in arms}
    counters = {arm.metric: itertools.count() for arm in arms}
    for order in alternating(arms, rounds):
        for arm in order:
            samples[arm.metric].add(await measure(clients, seconds / rounds, arm.make, counters[arm.metric]))
    return [result(arm, clients, samples[arm.metric], rounds) for arm in arms]


def result(arm: Arm, clients: int, sample: Sample, rounds: int) -> dict[str, Any]:
    """One result: the p99 in ms, with p50 and requests per second over the measured time."""
    ms = summary(sample.latencies_ms, digits=1)
    rps = round(len(sample.latencies_ms) / sample.elapsed, 1) if sample.elapsed else None
    labels = {"name": arm.name, "clients": clients, "requests": len(sample.latencies_ms), "errors": sample.errors}
    return emit(BENCH, f"{arm.metric}_p99", ms.get("p99"), "ms", p50_ms=ms.get("p50"), rps=rps, rounds=rounds, **labels)


async def bench(
    publish_url: str, nocache_url: str, es_url: str, names: IndexNames, docs: list[dict[str, Any]], args: Any
) -> list[dict[str, Any]]:
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

    def pages(base_url: str) -> Make:
        # Readers crowd onto a few stories: Zipf popularity over every article; each process reads the same draws.
        draws = zipf_stream(paths, seed=PAGE_SEED)

        async def page(client: httpx.AsyncClient, i: int) -> httpx.Response:
            return await client.get(base_url + next(draws))

        return page

    rows: list[dict[str, Any]] = []
    for n, clients in enumerate(args.clients):
        # The first level keeps the plain names (bench/run_all.py reads them); later ones say their level.
        tag = "" if n == 0 else f" @{clients}"
        print(f"\n{clients} clients, {args.seconds:.0f}s each in {args.rounds} turns, {len(mix)} distinct searches")
        direct_r, api_r = await compare(
            [
                Arm("es_direct", f"ES direct (same queries){tag}", direct),
                Arm("search_api", f"Kabar /api/v1/search{tag}", api),
            ],
            clients=clients,
            seconds=args.seconds,
            rounds=args.rounds,
        )
        page_r, miss_r = await compare(
            [
                Arm("article_page", f"Kabar article pages (Zipf, page cache on){tag}", pages(publish_url)),
                Arm("article_page_nocache", f"Kabar article pages (Zipf, page cache off){tag}", pages(nocache_url)),
            ],
            clients=clients,
            seconds=args.seconds,
            rounds=args.rounds,
        )
        rows += [direct_r, api_r, page_r, miss_r]
        print(
            f"\nsearch overhead ratio (Kabar/ES) at {clients} clients: "
            f"p50 {api_r['p50_ms'] / direct_r['p50_ms']:.2f}x, p99 {api_r['value'] / direct_r['value']:.2f}x"
        )
        print(f"targets at {clients} clients: search p99 < 80 ms -> {'met' if api_r['value'] < 80 else 'MISSED'}; "
              f"article page p99 < 30 ms -> {'met' if page_r['value'] < 30 else 'MISSED'}; "
              f"{page_r['rps']:.0f} pages/s cached, {miss_r['rps']:.0f} pages/s with the page cache off "
              f"(p99 {miss_r['value']:.1f} ms)")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument(
        "--clients",
        type=lambda v: [int(c) for c in v.split(",")],
        default=[20, 100],
        help="concurrency levels, comma-separated (default 20,100)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per arm and level, in all")
    parser.add_argument("--rounds", type=int, default=4, help="alternating turns the seconds are split into")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = KabarSettings(prefix=prefix)
    names = IndexNames(prefix)
    redis = Redis.from_url(settings.redis_url)
    env = kabar_env(prefix, KABAR_LOG_LEVEL="WARNING", KABAR_ES_URL=settings.es_url)
    procs: list[Proc] = []
    try:
        docs = load(settings, names, redis, args.articles)
        url, nocache_url = start_publish_pair("publish-bench", env, procs)
        rows = asyncio.run(bench(url, nocache_url, settings.es_url, names, docs, args))
        columns = ["name", "clients", "value", "p50_ms", "rps", "requests", "errors"]
        print_table(
            rows, columns, title=f"{BENCH}: p99 (value) and p50 in ms, same-run baselines, {args.rounds} turns each"
        )
    finally:
        for proc in procs:
            proc.stop()
        redis.close()
        drop_prefix(prefix)


if __name__ == "__main__":
    main()
