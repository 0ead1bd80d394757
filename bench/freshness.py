"""Freshness: how long from a newsroom's POST until the article is searchable, at a steady rate.

Starts its own ingest, worker (index + related queues, as deployed) and publish processes on a unique
prefix against the services in KABAR_* (the main ones by default), sends single POSTs open-loop at a
fixed rate with async httpx, and polls Elasticsearch's _search (a terms query on the pending uids,
every 100 ms) to timestamp when each article became searchable. The time counted is from just before
the POST to the poll answer that first found it, so it includes ingest, RabbitMQ, the worker, the bulk
write and the index refresh (refresh_interval 1 s).

Baseline in the same run (the floor): the same articles indexed straight into Elasticsearch with
refresh=false at the same rate for the same duration, polled the same way. Each of the two is warmed up
first with a few seconds of the same load that is not reported.

Then the same rate again with poison in the stream (issue 11): every `--poison-every`-th article, a
message Elasticsearch refuses (sent to the index queue as ingest would, batched with a normal event) and
an article with the hostile text that once stalled the workers (through the API, so measured too). The
poisoned p95 is compared with the clean one (target: within 2x), and every poison message must end in
the dead-letter queue, none left in the work queue.

    python -m bench.freshness [--duration 120 | --quick] [--rate 50] [--poison-every 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from celery import Celery
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.cleanup import drop_prefix  # noqa: E402
from harness.corpus import replay, upsert_event  # noqa: E402
from harness.procs import Proc, kabar_env, start_api, start_worker  # noqa: E402
from harness.results import emit, print_table, summary  # noqa: E402
from services.index.celery_app import bootstrap  # noqa: E402
from services.index.config import IndexSettings  # noqa: E402
from services.index.indexing.indexer import build_document  # noqa: E402
from services.ingest.auth import create_key  # noqa: E402
from services.ops import queue_depths  # noqa: E402
from shared.es import IndexNames  # noqa: E402
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config  # noqa: E402
from shared.models import article_uid  # noqa: E402

BENCH = "freshness"
TARGET_P95_S = 2.5
POLL_INTERVAL = 0.1
NEWSROOM = "bench-fresh"
POISON_RATIO_TARGET = 2.0
QUICK_SECONDS = 20.0
# Unreported sending before each clean phase: a worker's first tasks (imports, connections) and a new
# index's first writes are slow, and would otherwise count against whichever phase runs first.
WARMUP_SECONDS = 3.0
# How long the poll waits, once sending is over, for articles not yet searchable (every phase alike).
DRAIN_TIMEOUT = 60.0
# The body that took cubic time in text cleaning (issue 11), now linear: it must index like any other.
HOSTILE_BODY = "Share" + "\u2003" * 2500 + "!"


def poison_sender(settings: IndexSettings) -> tuple[Any, Any]:
    """A function that queues one refused event (batched with a normal one) as ingest would, and a closer."""
    app = Celery("fresh-poison", set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=settings.prefix))

    def send(i: int) -> None:
        events = []
        for kind in ("poison", "mate"):
            article = {"external_id": f"{kind}-{i}", "title": f"Racun {i}", "body": "Isi."}
            event = upsert_event(article, newsroom="bench-poison")
            if kind == "poison" and event.article is not None:
                # A NUL that ingest refuses, slipped past it: Elasticsearch refuses the document.
                spoilt = event.article.model_copy(update={"title": f"Racun\x00 {i}"})
                event = event.model_copy(update={"article": spoilt})
            events.append(event.model_dump(mode="json"))
        app.send_task(TASK_INDEX_EVENTS, kwargs={"events": events}, queue=Queues(settings.prefix).index)

    return send, app.close


@dataclass(frozen=True)
class Phase:
    """One measured path: its name in the results, how long it sends and how many articles that takes."""

    name: str
    seconds: float
    articles: int


def phases(*, duration: float, rate: float, poison_every: int) -> list[Phase]:
    """The phases of a run, in order, all at one rate for one duration so their latencies compare."""
    names = ["es_direct", "pipeline"] + (["pipeline_poisoned"] if poison_every else [])
    return [Phase(name, duration, int(duration * rate) + 1) for name in names]


@dataclass
class Run:
    """Send times, visibility times and failures of one measured path."""

    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    request_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    sending_done: bool = False

    def latencies(self) -> list[float]:
        return [self.seen[uid] - self.sent[uid] for uid in self.seen if uid in self.sent]


async def poll(es: httpx.AsyncClient, index: str, run: Run, *, drain_timeout: float) -> None:
    """Every 100 ms, search the pending uids; stop when sending is over and nothing is pending (or timeout)."""
    drain_deadline: float | None = None
    while True:
        pending = [uid for uid in run.sent if uid not in run.seen]
        if run.sending_done:
            drain_deadline = drain_deadline or time.monotonic() + drain_timeout
            if not pending or time.monotonic() > drain_deadline:
                return
        started = time.monotonic()
        if pending:
            resp = await es.post(
                f"/{index}/_search",
                json={"query": {"terms": {"uid": pending[:5000]}}, "size": min(len(pending), 5000), "_source": False},
                params={"filter_path": "hits.hits._id"},
            )
            now = time.monotonic()
            for hit in resp.json().get("hits", {}).get("hits", []):
                run.seen.setdefault(hit["_id"], now)
        await asyncio.sleep(max(0.0, POLL_INTERVAL - (time.monotonic() - started)))


async def send_at_rate(rate: float, duration: float, run: Run, send_one: Any) -> None:
    """Open loop: request i starts at t0 + i/rate whatever earlier requests are doing."""
    tasks = []
    t0 = time.monotonic()
    i = 0
    while (due := t0 + i / rate) < t0 + duration:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(send_one(i)))
        i += 1
    await asyncio.gather(*tasks)
    run.sending_done = True


async def measure_pipeline(
    *,
    ingest_url: str,
    key: str,
    es_url: str,
    alias: str,
    articles: list[dict[str, Any]],
    rate: float,
    duration: float,
    poison: Any = None,
    poison_every: int = 0,
) -> Run:
    run = Run()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=ingest_url, headers=headers, timeout=30, limits=limits) as ingest,
        httpx.AsyncClient(base_url=es_url, timeout=30) as es,
    ):

        async def send_one(i: int) -> None:
            article = articles[i]
            if poison is not None and poison_every and i % poison_every == poison_every // 2:
                await asyncio.to_thread(poison, i)
                article = {**article, "body": HOSTILE_BODY}
            uid = article_uid(NEWSROOM, article["external_id"])
            started = time.monotonic()
            try:
                resp = await ingest.post("/v1/articles", json=article)
                status = str(resp.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            run.request_ms.append((time.monotonic() - started) * 1000)
            if status == "202":
                run.sent[uid] = started
            else:
                run.failures[status] = run.failures.get(status, 0) + 1

        poller = asyncio.create_task(poll(es, alias, run, drain_timeout=DRAIN_TIMEOUT))
        await send_at_rate(rate, duration, run, send_one)
        await poller
    return run


async def measure_baseline(*, es_url: str, index: str, docs: list[dict[str, Any]], rate: float, duration: float) -> Run:
    run = Run()
    async with httpx.AsyncClient(base_url=es_url, timeout=30) as es:

        async def send_one(i: int) -> None:
            doc = docs[i]
            started = time.monotonic()
            resp = await es.put(f"/{index}/_doc/{doc['uid']}", json=doc, params={"refresh": "false"})
            run.request_ms.append((time.monotonic() - started) * 1000)
            if resp.status_code in (200, 201):
                run.sent[doc["uid"]] = started
            else:
                run.failures[str(resp.status_code)] = run.failures.get(str(resp.status_code), 0) + 1

        poller = asyncio.create_task(poll(es, index, run, drain_timeout=DRAIN_TIMEOUT))
        await send_at_rate(rate, duration, run, send_one)
        await poller
    return run


def baseline_docs(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents the worker would write for these articles (built here, outside the timing)."""
    events = (upsert_event(raw, newsroom="bench-base") for raw in articles)
    return [{k: v for k, v in build_document(event).items() if v is not None} for event in events]


def report(path: str, run: Run, rate: float, duration: float) -> list[dict[str, Any]]:
    stats = summary(run.latencies())
    req = summary(run.request_ms, digits=1)
    missing = len(run.sent) - len(run.seen)
    rows = []
    for p in ("p50", "p95", "p99", "max"):
        extra: dict[str, Any] = {"path": path}
        if path == "pipeline" and p == "p95":
            extra["target"] = f"< {TARGET_P95_S}"
            extra["met"] = bool(stats.get("p95", float("inf")) < TARGET_P95_S) and missing == 0
        rows.append(emit(BENCH, f"{path}_to_searchable_{p}", stats.get(p), "s", **extra))
    rows.append(emit(BENCH, f"{path}_request_p99", req.get("p99"), "ms", path=path, p50=req.get("p50")))
    rows.append(
        emit(
            BENCH,
            f"{path}_articles",
            len(run.sent),
            "articles",
            path=path,
            rate_per_s=rate,
            duration_s=duration,
            searchable=len(run.seen),
            never_searchable=missing,
            failures=run.failures,
        )
    )
    return rows


def poisoned_phase(
    *,
    settings: IndexSettings,
    ingest_url: str,
    key: str,
    articles: list[dict[str, Any]],
    clean: Run,
    rate: float,
    duration: float,
    every: int,
) -> list[dict[str, Any]]:
    """The same load with poison slipped in; the verdict compares its p95 with the clean run's."""
    send_poison, close = poison_sender(settings)
    print(f"pipeline with poison: one refused event and one hostile body per {every} articles", flush=True)
    try:
        run = asyncio.run(
            measure_pipeline(
                ingest_url=ingest_url,
                key=key,
                es_url=settings.es_url,
                alias=IndexNames(settings.prefix).articles,
                articles=articles,
                rate=rate,
                duration=duration,
                poison=send_poison,
                poison_every=every,
            )
        )
    finally:
        close()
    sent = len([i for i in range(len(articles)) if i % every == every // 2 and i / rate < duration])
    queues = Queues(settings.prefix)
    deadline = time.monotonic() + 60
    while (depths := queue_depths(broker_url=settings.broker_url, prefix=settings.prefix))[
        queues.dead_letter
    ] != sent and time.monotonic() < deadline:
        time.sleep(0.5)
    rows = report("pipeline_poisoned", run, rate, duration)
    clean_p95, poisoned_p95 = summary(clean.latencies()).get("p95"), summary(run.latencies()).get("p95")
    ratio = poisoned_p95 / clean_p95 if clean_p95 and poisoned_p95 else None
    rows.append(
        emit(
            BENCH,
            "poisoned_p95_over_clean_p95",
            round(ratio, 2) if ratio else None,
            "x",
            target=f"<= {POISON_RATIO_TARGET}",
            met=bool(ratio and ratio <= POISON_RATIO_TARGET and len(run.seen) == len(run.sent)),
            poison_sent=sent,
            dead_letters=depths[queues.dead_letter],
            index_queue_left=depths[queues.index],
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=120.0, help="seconds of steady sending in every phase (default 120)"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:.0f} s instead of --duration")
    parser.add_argument("--rate", type=float, default=50.0, help="articles per second (default 50)")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--poison-every", type=int, default=100, help="one poison per N articles (0: no phase)")
    args = parser.parse_args()
    duration = QUICK_SECONDS if args.quick else args.duration
    plan = {p.name: p for p in phases(duration=duration, rate=args.rate, poison_every=args.poison_every)}

    prefix = f"fresh{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    names = IndexNames(prefix)
    env = kabar_env(prefix, KABAR_LOG_JSON="true", KABAR_RATE_LIMIT_PER_MINUTE="1000000")
    source = replay(tag=f"fresh-{prefix}")
    batches = {name: [next(source) for _ in range(p.articles)] for name, p in plan.items() if name != "es_direct"}
    # The floor writes the very articles the pipeline is sent (as its own newsroom, into its own index).
    docs = baseline_docs(batches["pipeline"][: plan["es_direct"].articles])
    warm = [next(source) for _ in range(int(WARMUP_SECONDS * args.rate) + 1)]

    procs: list[Proc] = []
    try:
        bootstrap(settings)
        baseline_index = f"{prefix}-articles-baseline"  # matches the template: same mapping and refresh interval
        httpx.put(f"{settings.es_url}/{baseline_index}", timeout=30).raise_for_status()
        print(f"baseline: direct ES index (refresh=false) at {args.rate}/s for {duration:.0f}s", flush=True)
        for batch, seconds in ((baseline_docs(warm), WARMUP_SECONDS), (docs, duration)):
            base = asyncio.run(
                measure_baseline(
                    es_url=settings.es_url, index=baseline_index, docs=batch, rate=args.rate, duration=seconds
                )
            )
        ingest, ingest_url = start_api("fresh-ingest", "services.ingest.app:create_app", env)
        procs.append(ingest)
        # As deployed: indexing and related work in separate worker processes, so a related backlog
        # never delays the next article's indexing (Celery does not prioritise across queues).
        procs.append(
            start_worker(
                env, prefix=prefix, concurrency=args.worker_concurrency, name="fresh-worker", queues=("index",)
            )
        )
        procs.append(start_worker(env, prefix=prefix, concurrency=1, name="fresh-related", queues=("related",)))
        publish, publish_url = start_api("fresh-publish", "services.publish.app:create_app", env)
        procs.append(publish)
        with Redis.from_url(settings.redis_url) as redis:
            key = create_key(redis=redis, prefix=prefix, newsroom=NEWSROOM)
        print(f"pipeline: POST /v1/articles at {args.rate}/s for {duration:.0f}s", flush=True)
        for batch, seconds in ((warm, WARMUP_SECONDS), (batches["pipeline"], duration)):
            pipe = asyncio.run(
                measure_pipeline(
                    ingest_url=ingest_url,
                    key=key,
                    es_url=settings.es_url,
                    alias=names.articles,
                    articles=batch,
                    rate=args.rate,
                    duration=seconds,
                )
            )
        # Readers see what the poll saw: the last article through the publish API.
        last = next(reversed(pipe.seen), None)
        reader_ok = (
            last is not None and httpx.get(f"{publish_url}/api/v1/articles/{last}", timeout=10).status_code == 200
        )
        rows = report("es_direct", base, args.rate, duration) + report("pipeline", pipe, args.rate, duration)
        rows.append(emit(BENCH, "publish_api_sees_last_article", int(reader_ok), "bool"))
        if args.poison_every:
            rows += poisoned_phase(
                settings=settings,
                ingest_url=ingest_url,
                key=key,
                articles=batches["pipeline_poisoned"],
                clean=pipe,
                rate=args.rate,
                duration=duration,
                every=args.poison_every,
            )
    finally:
        for proc in reversed(procs):
            proc.stop()
        drop_prefix(prefix)

    table = [r for r in rows if r["unit"] in ("s", "x")]
    print_table(
        table, ["metric", "value", "unit", "target", "met"], title="freshness (seconds from write to searchable)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
