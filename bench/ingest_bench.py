"""Ingest throughput and latency against the real services, with baselines in the same run.

Starts its own ingest process (and a bare FastAPI echo process) on a unique prefix, drives them with
async httpx clients for a bounded time, prints one JSON line per measurement and a short table, then
removes the prefix's queues and Redis keys. Nothing consumes the queue during the run.

    python bench/ingest_bench.py [--seconds 5] [--articles 8000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from kombu import Connection
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.ingest.auth import create_key  # noqa: E402
from services.ingest.config import IngestSettings  # noqa: E402
from services.ingest.publisher import EventPublisher  # noqa: E402
from shared import corpora  # noqa: E402
from shared.events import ArticleEvent, Operation  # noqa: E402
from shared.messaging import dead_letter_queue, task_queues  # noqa: E402
from tests.stack import start_api  # noqa: E402

RAW = corpora.raw_dir()


def echo_app() -> FastAPI:
    """Baseline: the same server stack (uvicorn, a sync route in the threadpool) doing nothing."""
    app = FastAPI()

    @app.post("/echo")
    def echo(body: dict[str, Any]) -> dict[str, Any]:
        return {"result": "accepted", "external_id": body.get("external_id")}

    @app.get("/openapi.json", include_in_schema=False)
    def ready(request: Request) -> dict[str, str]:
        return {}

    return app


def articles(limit: int) -> Iterator[dict[str, Any]]:
    """Corpus articles with fresh external ids, so every POST is a real accept."""
    run = uuid.uuid4().hex[:6]
    source = itertools.islice(corpora.load("all", RAW), limit)
    for i, article in enumerate(itertools.cycle(list(source))):
        yield {**article, "external_id": f"bench-{run}-{i}"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive_single(
    url: str, path: str, headers: dict[str, str], source: Iterator[dict[str, Any]], concurrency: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                resp = await client.post(path, json=next(source))
                latencies.append(time.perf_counter() - started)
                if resp.status_code not in (200, 202):
                    errors[resp.status_code] = errors.get(resp.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": errors,
    }


async def drive_bulk(
    url: str, headers: dict[str, str], source: Iterator[dict[str, Any]], batch: int, concurrency: int, seconds: float
) -> dict[str, Any]:
    accepted = 0
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def one_client() -> None:
            nonlocal accepted
            while time.perf_counter() < deadline:
                body = "\n".join(json.dumps(next(source)) for _ in range(batch))
                started = time.perf_counter()
                resp = await client.post(
                    "/v1/articles:bulk", content=body, headers={"Content-Type": "application/x-ndjson"}
                )
                latencies.append(time.perf_counter() - started)
                if resp.status_code == 202:
                    accepted += resp.json()["accepted"]
                else:
                    errors[resp.status_code] = errors.get(resp.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "articles_per_s": round(accepted / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": errors,
    }


def raw_publish(settings: IngestSettings, seconds: float) -> dict[str, Any]:
    """Baseline: one persistent message with a publisher confirm, back to back, no HTTP at all."""
    publisher = EventPublisher(broker_url=settings.broker_url, prefix=settings.prefix, confirm_timeout=5, retry_after=5)
    publisher.declare()
    event = ArticleEvent(op=Operation.DELETE, uid="bench", newsroom="bench", external_id="bench", revision=1, version=1)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        publisher.publish([event])
        latencies.append(time.perf_counter() - started)
    publisher.close()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


def cleanup(settings: IngestSettings, redis: Redis) -> None:
    with Connection(settings.broker_url) as conn, conn.channel() as channel:
        for queue in [*task_queues(settings.prefix), dead_letter_queue(settings.prefix)]:
            with contextlib.suppress(Exception):
                channel.queue_delete(queue.name)
    for key in redis.scan_iter(f"{settings.prefix}:*", count=5000):
        redis.delete(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--articles", type=int, default=8000, help="distinct corpus articles to cycle through")
    parser.add_argument("--batch", type=int, default=500, help="articles per bulk request")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = IngestSettings(prefix=prefix)
    redis = Redis.from_url(settings.redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update({"KABAR_PREFIX": prefix, "KABAR_RATE_LIMIT_PER_MINUTE": "100000000", "KABAR_LOG_LEVEL": "WARNING"})
    for key in ("KABAR_BROKER_URL", "KABAR_REDIS_URL", "KABAR_ES_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    key = create_key(redis=redis, prefix=prefix, newsroom="bench")
    headers = {"Authorization": f"Bearer {key}"}
    source = articles(args.articles)
    rows: list[dict[str, Any]] = []

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    ingest, ingest_url = start_api("bench-ingest", "services.ingest.app:create_app", env)
    echo, echo_url = start_api("bench-echo", "bench.ingest_bench:echo_app", env)
    try:
        asyncio.run(drive_single(ingest_url, "/v1/articles", headers, source, 10, 1.0))  # warm up
        emit({"bench": "raw_kombu_publish_confirm", "concurrency": 1, **raw_publish(settings, args.seconds)})
        for concurrency in (1, 10, 50):
            result = asyncio.run(drive_single(echo_url, "/echo", {}, source, concurrency, args.seconds))
            emit({"bench": "echo_baseline", "concurrency": concurrency, **result})
            result = asyncio.run(drive_single(ingest_url, "/v1/articles", headers, source, concurrency, args.seconds))
            emit({"bench": "single_post", "concurrency": concurrency, **result})
        for concurrency in (1, 4):
            result = asyncio.run(drive_bulk(ingest_url, headers, source, args.batch, concurrency, args.seconds))
            emit({"bench": "bulk_ndjson", "batch": args.batch, "concurrency": concurrency, **result})
    finally:
        ingest.stop()
        echo.stop()
        cleanup(settings, redis)
        redis.close()

    print()
    print(f"{'bench':<28}{'conc':>5}{'req/s':>10}{'art/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for row in rows:
        print(
            f"{row['bench']:<28}{row['concurrency']:>5}{row.get('rps', ''):>10}{row.get('articles_per_s', ''):>10}"
            f"{row.get('p50_ms', ''):>9}{row.get('p95_ms', ''):>9}{row.get('p99_ms', ''):>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
