"""Backfill throughput: articles/s through RabbitMQ → Celery worker → Elasticsearch, next to raw bulk.

Replays the corpora with fresh ids until there are --articles events, publishes them as apply_events
tasks of --batch events each (by task name, like ingest) with related=False — related lists are not
part of a backfill; `kabar related rebuild` computes them afterwards — and times until every article
is in the index. Then the same documents go through helpers.parallel_bulk (as many streams as worker
processes) straight into a fresh index from the same template, in the same run. The ratio is the
figure. Both paths are warmed up with one unreported batch, then take turns over `--rounds` equal shares
of the articles (pipeline, raw, raw, pipeline, ...), so neither runs on a machine the other warmed.
Prints JSON lines and a table.

    python -m bench.index_throughput --articles 20000 --batch 500 --concurrency 2 [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery
from elasticsearch import helpers

from harness.cleanup import drop_prefix
from harness.corpus import replay_events
from harness.procs import kabar_env, start_worker
from harness.results import alternating, emit, print_table
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.index.indexing.indexer import build_document
from shared.es import IndexNames, create_client
from shared.events import ArticleEvent
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config

BENCH = "index_throughput"
NEWSROOM = "bench"
PATHS = ("pipeline", "raw")


def turns(articles: int, rounds: int) -> list[tuple[str, int, int]]:
    """(path, start, stop) in running order: each round a share of the articles through both paths, in turns."""
    bounds = [articles * r // rounds for r in range(rounds + 1)]
    return [(path, bounds[r], bounds[r + 1]) for r, order in enumerate(alternating(PATHS, rounds)) for path in order]


def wait_for_count(es: Any, index: str, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        es.indices.refresh(index=index)
        if es.count(index=index)["count"] >= n:
            return time.monotonic()
        time.sleep(0.2)
    raise TimeoutError(f"{index} did not reach {n} documents")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="events per apply_events task")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="worker processes (Celery default: CPUs)"
    )
    parser.add_argument("--corpus", default="all")
    parser.add_argument("--rounds", type=int, default=2, help="turns each path takes, alternating who goes first")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    names = IndexNames(prefix)
    es = create_client(settings).options(request_timeout=120)
    bootstrap(settings)
    # One more batch than measured: it warms both paths up and is not reported.
    events = replay_events(args.articles + args.batch, spec=args.corpus, newsroom=NEWSROOM, tag=prefix)
    warm, events = events[: args.batch], events[args.batch :]
    # The same documents, built up front, go straight into a fresh index from the same template.
    docs = {e.uid: build_document(e) for e in [*warm, *events]}
    env = kabar_env(prefix, KABAR_LOG_LEVEL="WARNING")
    worker = start_worker(env, prefix=prefix, concurrency=args.concurrency, name="bench-worker")
    producer = Celery("bench-producer", set_as_current=False)
    producer.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))
    raw_index = f"{prefix}-articles-rawbulk"
    indexed = dict.fromkeys(PATHS, 0)
    seconds = dict.fromkeys([*PATHS, "publish"], 0.0)
    ok = 0

    def pipeline(batch: list[ArticleEvent]) -> float:
        payloads = [e.model_dump(mode="json") for e in batch]
        t0 = time.monotonic()
        for start in range(0, len(payloads), args.batch):
            producer.send_task(
                TASK_INDEX_EVENTS,
                kwargs={"events": payloads[start : start + args.batch], "related": False},
                queue=Queues(prefix).index,
            )
        seconds["publish"] += time.monotonic() - t0
        indexed["pipeline"] += len(batch)
        return wait_for_count(es, names.articles, indexed["pipeline"], timeout=900) - t0

    def raw(batch: list[ArticleEvent]) -> float:
        nonlocal ok
        actions = (
            {"_index": raw_index, "_id": e.uid, "version": 1, "version_type": "external", "_source": docs[e.uid]}
            for e in batch
        )
        t0 = time.monotonic()
        # As many concurrent bulk streams as the pipeline has worker processes: the fair ceiling.
        ok += sum(
            1
            for success, _ in helpers.parallel_bulk(
                es, actions, thread_count=args.concurrency, chunk_size=args.batch, raise_on_error=False
            )
            if success
        )
        indexed["raw"] += len(batch)
        return wait_for_count(es, raw_index, indexed["raw"], timeout=900) - t0

    run: dict[str, Callable[[list[ArticleEvent]], float]] = {"pipeline": pipeline, "raw": raw}
    try:
        es.indices.create(index=raw_index)
        for path in PATHS:
            run[path](warm)
        ok, seconds["publish"] = 0, 0.0
        for path, start, stop in turns(len(events), args.rounds):
            seconds[path] += run[path](events[start:stop])
        pipeline_s, raw_s = seconds["pipeline"], seconds["raw"]
        pipeline_row = emit(
            BENCH,
            "pipeline_articles_per_s",
            round(len(events) / pipeline_s, 1),
            "articles/s",
            path="broker→worker→ES",
            articles=len(events),
            seconds=round(pipeline_s, 2),
            publish_seconds=round(seconds["publish"], 2),
            batch=args.batch,
            concurrency=args.concurrency,
            related_scheduled=False,
            rounds=args.rounds,
        )
        raw_row = emit(
            BENCH,
            "raw_bulk_articles_per_s",
            round(len(events) / raw_s, 1),
            "articles/s",
            path=f"parallel_bulk x{args.concurrency} (raw)",
            articles=ok,
            seconds=round(raw_s, 2),
            batch=args.batch,
            rounds=args.rounds,
        )
        ratio = emit(BENCH, "backfill_ratio_pct", round(raw_s / pipeline_s * 100, 1), "%", target=">= 70")
        print_table(
            [pipeline_row, raw_row, ratio], ["metric", "value", "unit", "path", "articles", "seconds"], title=BENCH
        )
    finally:
        worker.stop()
        producer.close()
        es.close()
        drop_prefix(prefix)


if __name__ == "__main__":
    main()
