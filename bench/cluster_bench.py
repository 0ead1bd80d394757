"""The cluster next to the single node, in one run: ingest and indexing throughput, freshness, and WAIT's cost.

Two topologies, each with its own ingest, index worker and related worker on a fresh prefix:
- single: the services in KABAR_* (the main stack by default): one Elasticsearch node without replicas,
  one RabbitMQ, one Redis;
- cluster: `scripts/services.sh cluster-up`: three Elasticsearch nodes with one replica per shard, three
  RabbitMQ nodes (quorum queues replicated on all three), a Redis primary with a replica found through
  Sentinel, state commits waiting for the replica (WAIT).
Run in turn (single, cluster, then cluster, single: each goes first once), on the same machine: on 2 cores
the cluster pays for its copies with the same CPU, so it is slower here; the point is the price, measured.

Per topology and round:
- ingest: articles/s accepted by bulk POSTs (50 a request, 2 clients) for `--seconds`;
- indexing: articles/s from the first POST until every accepted article is searchable;
- freshness: single POSTs open-loop at `--rate`/s for `--seconds` (bench.freshness's driver); POST to
  searchable, p50/p95;
- bytes per stored article (primary store / documents), the sizing rule's input.
And the WAIT cost on the cluster's Redis: a state commit without and with WAIT for one replica, p50/p99.

    python -m bench.cluster_bench [--quick] [--seconds 20] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.freshness import NEWSROOM, measure_pipeline  # noqa: E402
from harness.cleanup import drop_prefix  # noqa: E402
from harness.cluster import cluster_up, settings_for  # noqa: E402
from harness.corpus import valid_articles  # noqa: E402
from harness.procs import Proc, kabar_env, start_api, start_worker  # noqa: E402
from harness.results import alternating, emit, print_table, summary  # noqa: E402
from services.index.celery_app import bootstrap  # noqa: E402
from services.index.config import IndexSettings  # noqa: E402
from services.ingest.auth import create_key  # noqa: E402
from shared.es import IndexNames, create_client, es_hosts  # noqa: E402
from shared.models import article_uid  # noqa: E402
from shared.redisconn import redis_client  # noqa: E402
from shared.state import StateStore  # noqa: E402

BENCH = "cluster_bench"
BULK = 50


@dataclass
class Topology:
    name: str
    env: dict[str, str]  # KABAR_* service settings

    def settings(self, prefix: str) -> IndexSettings:
        return settings_for(self.env, prefix)


@dataclass
class Running:
    settings: IndexSettings
    ingest_url: str
    key: str
    es: Any


@contextmanager
def running(topology: Topology) -> Iterator[Running]:
    prefix = f"cb{uuid.uuid4().hex[:8]}"
    settings = topology.settings(prefix)
    bootstrap(settings)
    env = kabar_env(prefix, **topology.env, KABAR_LOG_LEVEL="WARNING")
    procs: list[Proc] = []
    es = create_client(settings)
    redis = redis_client(settings)
    try:
        proc, url = start_api(f"cb-ingest-{topology.name}", "services.ingest.app:create_app", env)
        procs.append(proc)
        procs.append(start_worker(env, prefix=prefix, queues=("index",), concurrency=2, name="cb-index"))
        procs.append(start_worker(env, prefix=prefix, queues=("related",), concurrency=1, name="cb-related"))
        key = create_key(redis=redis, prefix=prefix, newsroom=NEWSROOM)
        yield Running(settings=settings, ingest_url=url, key=key, es=es)
    finally:
        for proc in reversed(procs):
            proc.stop()
        redis.close()
        es.close()
        drop_prefix(prefix, settings=settings)


def _articles(pool: list[dict[str, Any]], tag: str, count: int) -> list[dict[str, Any]]:
    return [{**pool[n % len(pool)], "external_id": f"{tag}-{n:06d}"} for n in range(count)]


def _searchable(es: Any, index: str, uids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(uids), 1000):
        chunk = uids[i : i + 1000]
        hits = es.search(index=index, query={"terms": {"uid": chunk}}, size=len(chunk), source=["uid"])["hits"]["hits"]
        found.update(h["_source"]["uid"] for h in hits)
    return found


def ingest_and_index(run: Running, pool: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Bulk POSTs from two clients for `seconds`; then until every accepted article is searchable."""
    tag = f"bulk{uuid.uuid4().hex[:6]}"
    articles = _articles(pool, tag, 20_000)
    accepted: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(0, len(articles), BULK))
    start = time.monotonic()
    end = start + seconds

    def client() -> None:
        headers = {"Authorization": f"Bearer {run.key}"}
        with httpx.Client(base_url=run.ingest_url, headers=headers, timeout=60) as http:
            while time.monotonic() < end:
                with lock:
                    at = next(cursor, None)
                if at is None:
                    return
                resp = http.post("/v1/articles:bulk", json=articles[at : at + BULK])
                if resp.status_code in (200, 202):
                    ok = [i["external_id"] for i in resp.json()["items"] if i["result"] == "accepted"]
                    with lock:
                        accepted.extend(ok)

    with ThreadPoolExecutor(2) as threads:
        list(threads.map(lambda _: client(), range(2)))
    sent_s = time.monotonic() - start
    uids = [article_uid(NEWSROOM, ext) for ext in accepted]
    names = IndexNames(run.settings.prefix)
    pending = set(uids)
    deadline = time.monotonic() + 600
    while pending and time.monotonic() < deadline:
        pending -= _searchable(run.es, names.articles, sorted(pending))
        if pending:
            time.sleep(0.25)
    indexed_s = time.monotonic() - start
    stats = run.es.indices.stats(index=names.articles, metric="docs,store")["_all"]["primaries"]
    docs = max(1, stats["docs"]["count"])
    run.es.indices.refresh(index=names.related)
    related = run.es.indices.stats(index=names.related, metric="docs,store")["_all"]["primaries"]
    return {
        "ingest_per_s": len(accepted) / sent_s,
        "index_per_s": (len(uids) - len(pending)) / indexed_s,
        "accepted": float(len(accepted)),
        "unindexed": float(len(pending)),
        "bytes_per_article": stats["store"]["size_in_bytes"] / docs,
        # Lists stored so far (the related worker may still be behind): bytes per stored list.
        "bytes_per_related_list": related["store"]["size_in_bytes"] / max(1, related["docs"]["count"]),
    }


def freshness(run: Running, pool: list[dict[str, Any]], rate: float, seconds: float) -> dict[str, float]:
    """Single POSTs open-loop at a steady rate (bench.freshness's driver); each one's time from POST to first
    searchable, polled on the first Elasticsearch node."""
    articles = _articles(pool, f"fresh{uuid.uuid4().hex[:6]}", int(rate * seconds) + 1)
    measured = asyncio.run(
        measure_pipeline(
            ingest_url=run.ingest_url,
            key=run.key,
            es_url=es_hosts(run.settings.es_url)[0],
            alias=IndexNames(run.settings.prefix).articles,
            articles=articles,
            rate=rate,
            duration=seconds,
        )
    )
    stats = summary(measured.latencies())
    return {"fresh_p50_s": stats.get("p50", float("nan")), "fresh_p95_s": stats.get("p95", float("nan"))}


def wait_cost(cluster: Topology, commits: int) -> list[dict[str, Any]]:
    """A state commit on the cluster's Redis primary without WAIT and with WAIT for one replica."""
    settings = cluster.settings(f"cw{uuid.uuid4().hex[:8]}")
    rows = []
    with redis_client(settings) as redis:
        for replicas in (0, 1, 0, 1):
            store = StateStore(redis, settings.prefix, wait_replicas=replicas, wait_timeout_ms=1000)
            times = []
            for n in range(commits):
                uid = f"w{n}"
                rev = store.reserve_revision(uid, 1)
                t = time.perf_counter()
                store.commit(uid, rev, op="upsert", version=1)
                times.append((time.perf_counter() - t) * 1000)
            stats = summary(times)
            rows.append({"wait_replicas": replicas, "p50_ms": stats["p50"], "p99_ms": stats["p99"], "n": commits})
        keys = list(redis.scan_iter(f"{settings.prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):
            redis.delete(*keys[i : i + 1000])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each ingest and freshness phase")
    parser.add_argument("--rate", type=float, default=20.0, help="single POSTs a second in the freshness phase")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, arms alternating (AB, BA, ...)")
    parser.add_argument("--quick", action="store_true", help="8 s phases, one round")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 8.0, 1

    single = Topology(
        "single", {k: v for k, v in kabar_env("x").items() if k.startswith("KABAR_") and k != "KABAR_PREFIX"}
    )
    cluster = Topology("cluster", cluster_up())
    pool = list(valid_articles("all", limit=3000, max_body_chars=200_000))
    rows: list[dict[str, Any]] = []
    for order in alternating([single, cluster], args.rounds):
        for topology in order:
            with running(topology) as run:
                result = ingest_and_index(run, pool, args.seconds) | freshness(run, pool, args.rate, args.seconds)
            row = {"topology": topology.name, **{k: round(v, 3) for k, v in result.items()}}
            rows.append(row)
            for metric, value in result.items():
                emit(BENCH, metric, value, "", topology=topology.name)
    print_table(
        rows,
        [
            "topology",
            "ingest_per_s",
            "index_per_s",
            "fresh_p50_s",
            "fresh_p95_s",
            "bytes_per_article",
            "bytes_per_related_list",
            "unindexed",
        ],
        title="Cluster (3 ES nodes, 1 replica; 3 RabbitMQ nodes, quorum; Redis + replica, WAIT) vs single node",
    )
    waits = wait_cost(cluster, 500 if args.quick else 2000)
    for row in waits:
        emit(BENCH, "state_commit_p50", row["p50_ms"], "ms", wait_replicas=row["wait_replicas"])
        emit(BENCH, "state_commit_p99", row["p99_ms"], "ms", wait_replicas=row["wait_replicas"])
    print_table(waits, ["wait_replicas", "n", "p50_ms", "p99_ms"], title="State commit on the cluster's Redis")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
