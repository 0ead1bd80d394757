"""Ingest throughput and latency against the real services, with baselines in the same run.

Starts its own ingest process (and a bare FastAPI echo process) on a unique prefix, drives them with
async httpx clients for a bounded time, prints one JSON line per measurement and a short table, then
removes the prefix's queues and Redis keys. Nothing consumes the queue during the run. Every target is
warmed up before it is measured, the baseline and Kabar take turns going first, and every rate is over
the time the measurement took (its last requests end after the time asked for).

    python bench/ingest_bench.py [--seconds 5] [--articles 8000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.cleanup import drop_prefix  # noqa: E402
from harness.corpus import replay  # noqa: E402
from harness.procs import kabar_env, start_api  # noqa: E402
from harness.results import alternating, emit, print_table, summary  # noqa: E402
from services.ingest.auth import create_key  # noqa: E402
from services.ingest.config import IngestSettings  # noqa: E402
from services.ingest.publisher import EventPublisher  # noqa: E402
from shared.events import ArticleEvent, Operation  # noqa: E402

BENCH = "ingest_bench"
# Unmeasured load before a target's first measurement: connections, imports, first-request paths.
WARMUP_SECONDS = 1.0
WARMUP_CONCURRENCY = 10


@dataclass(frozen=True)
class Step:
    """One drive of a single-POST target: a measurement, or a warm-up whose numbers are dropped."""

    target: str
    concurrency: int
    measured: bool = True


def single_post_steps(targets: Sequence[str], levels: Sequence[int]) -> list[Step]:
    """Every target warmed up, then each concurrency level with the targets taking turns to go first."""
    warm = [Step(target, WARMUP_CONCURRENCY, measured=False) for target in targets]
    orders = alternating(targets, len(levels))
    return warm + [Step(target, level) for level, order in zip(levels, orders, strict=True) for target in order]


def run_for(op: Callable[[], object], seconds: float) -> tuple[list[float], float]:
    """Call `op` back to back while `seconds` last: each call's seconds, and the seconds all of them took."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        op()
        latencies.append(time.perf_counter() - now)
    return latencies, time.perf_counter() - started


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


def latency(name: str, latencies: list[float], elapsed: float, **labels: Any) -> dict[str, Any]:
    """One result: the p99 latency in ms, with p50, p95 and the request rate beside it."""
    ms = summary([s * 1000 for s in latencies], digits=2)
    rps = round(len(latencies) / elapsed, 1)
    p50, p95 = ms.get("p50"), ms.get("p95")
    return emit(
        BENCH, f"{name}_p99", ms.get("p99"), "ms", requests=len(latencies), rps=rps, p50_ms=p50, p95_ms=p95, **labels
    )


async def drive_single(
    name: str | None,
    url: str,
    path: str,
    headers: dict[str, str],
    source: Iterator[dict[str, Any]],
    concurrency: int,
    seconds: float,
) -> dict[str, Any] | None:
    """`concurrency` clients POSTing one article at a time for `seconds`; a result unless a warm-up (no name)."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
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
        deadline = started + seconds
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return None if name is None else latency(name, latencies, elapsed, concurrency=concurrency, errors=errors)


async def drive_bulk(
    url: str, headers: dict[str, str], source: Iterator[dict[str, Any]], batch: int, concurrency: int, seconds: float
) -> list[dict[str, Any]]:
    accepted = 0
    latencies: list[float] = []
    errors: dict[int, int] = {}
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
        deadline = started + seconds
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    labels = {"batch": batch, "concurrency": concurrency, "errors": errors}
    speed = emit(BENCH, "bulk_articles_per_s", round(accepted / elapsed, 1), "articles/s", **labels)
    return [speed, latency("bulk_ndjson", latencies, elapsed, **labels)]


def raw_publish(settings: IngestSettings, seconds: float) -> dict[str, Any]:
    """Baseline: one persistent message with a publisher confirm, back to back, no HTTP at all."""
    publisher = EventPublisher(broker_url=settings.broker_url, prefix=settings.prefix, confirm_timeout=5, retry_after=5)
    publisher.declare()
    event = ArticleEvent(op=Operation.DELETE, uid="bench", newsroom="bench", external_id="bench", revision=1, version=1)
    try:
        run_for(lambda: publisher.publish([event]), WARMUP_SECONDS)  # the channel and its confirms set up
        latencies, elapsed = run_for(lambda: publisher.publish([event]), seconds)
    finally:
        publisher.close()
    return latency("raw_kombu_publish_confirm", latencies, elapsed, concurrency=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--articles", type=int, default=8000, help="distinct corpus articles to cycle through")
    parser.add_argument("--batch", type=int, default=500, help="articles per bulk request")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = IngestSettings(prefix=prefix)
    env = kabar_env(prefix, KABAR_RATE_LIMIT_PER_MINUTE="100000000", KABAR_LOG_LEVEL="WARNING")
    with Redis.from_url(settings.redis_url) as redis:
        key = create_key(redis=redis, prefix=prefix, newsroom="bench")
    headers = {"Authorization": f"Bearer {key}"}
    # Valid articles with fresh ids, so every POST is a real accept.
    source = replay(tag=f"bench-{uuid.uuid4().hex[:6]}", limit=args.articles)
    rows: list[dict[str, Any]] = []
    procs = []
    try:
        ingest, ingest_url = start_api("bench-ingest", "services.ingest.app:create_app", env)
        procs.append(ingest)
        echo, echo_url = start_api("bench-echo", "bench.ingest_bench:echo_app", env)
        procs.append(echo)
        rows.append(raw_publish(settings, args.seconds))
        targets = {
            "echo_baseline": (echo_url, "/echo", {}),
            "single_post": (ingest_url, "/v1/articles", headers),
        }
        for step in single_post_steps(list(targets), [1, 10, 50]):
            url, path, auth = targets[step.target]
            name, seconds = (step.target, args.seconds) if step.measured else (None, WARMUP_SECONDS)
            row = asyncio.run(drive_single(name, url, path, auth, source, step.concurrency, seconds))
            rows += [row] if row else []
        for concurrency in (1, 4):
            rows += asyncio.run(drive_bulk(ingest_url, headers, source, args.batch, concurrency, args.seconds))
    finally:
        for proc in procs:
            proc.stop()
        drop_prefix(prefix)

    print_table(rows, ["metric", "concurrency", "value", "unit", "rps", "p50_ms", "p95_ms"], title=BENCH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
