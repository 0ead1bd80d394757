"""Backfill throughput: articles/s through RabbitMQ → Celery worker → Elasticsearch, next to raw bulk.

Replays the corpora with fresh ids until there are --articles events, publishes them as apply_events
tasks of --batch events each (by task name, like ingest) with related=False — related lists are not
part of a backfill; `kabar related rebuild` computes them afterwards — and times until every article
is in the index. Then the same documents go through helpers.parallel_bulk (as many streams as worker
processes) straight into a fresh index from the same template, in the same run. The ratio is the
figure. Prints JSON lines and a table.

    python -m bench.index_throughput --articles 20000 --batch 500 --concurrency 2
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

from celery import Celery
from elasticsearch import helpers

from harness.cleanup import drop_prefix
from harness.corpus import replay_events
from harness.procs import kabar_env, start_worker
from harness.results import emit, print_table
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.index.indexing.indexer import build_document
from shared.es import IndexNames, create_client
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config

BENCH = "index_throughput"
NEWSROOM = "bench"


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
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    names = IndexNames(prefix)
    es = create_client(settings).options(request_timeout=120)
    bootstrap(settings)
    events = replay_events(args.articles, spec=args.corpus, newsroom=NEWSROOM, tag=prefix)
    payloads = [e.model_dump(mode="json") for e in events]
    env = kabar_env(prefix, KABAR_LOG_LEVEL="WARNING")
    worker = start_worker(env, prefix=prefix, concurrency=args.concurrency, name="bench-worker")
    producer = Celery("bench-producer", set_as_current=False)
    producer.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))
    try:
        t0 = time.monotonic()
        for start in range(0, len(payloads), args.batch):
            producer.send_task(
                TASK_INDEX_EVENTS,
                kwargs={"events": payloads[start : start + args.batch], "related": False},
                queue=Queues(prefix).index,
            )
        published = time.monotonic()
        done = wait_for_count(es, names.articles, len(events), timeout=900)
        pipeline_s = done - t0
        pipeline = emit(
            BENCH,
            "pipeline_articles_per_s",
            round(len(events) / pipeline_s, 1),
            "articles/s",
            path="broker→worker→ES",
            articles=len(events),
            seconds=round(pipeline_s, 2),
            publish_seconds=round(published - t0, 2),
            batch=args.batch,
            concurrency=args.concurrency,
            related_scheduled=False,
        )

        # The same documents, built up front, straight into a fresh index from the same template.
        raw_index = f"{prefix}-articles-rawbulk"
        es.indices.create(index=raw_index)
        docs = [build_document(e) for e in events]
        actions = (
            {"_index": raw_index, "_id": e.uid, "version": 1, "version_type": "external", "_source": d}
            for e, d in zip(events, docs, strict=True)
        )
        t1 = time.monotonic()
        # As many concurrent bulk streams as the pipeline has worker processes: the fair ceiling.
        ok = sum(
            1
            for success, _ in helpers.parallel_bulk(
                es, actions, thread_count=args.concurrency, chunk_size=args.batch, raise_on_error=False
            )
            if success
        )
        done = wait_for_count(es, raw_index, len(events), timeout=900)
        raw_s = done - t1
        raw = emit(
            BENCH,
            "raw_bulk_articles_per_s",
            round(len(events) / raw_s, 1),
            "articles/s",
            path=f"parallel_bulk x{args.concurrency} (raw)",
            articles=ok,
            seconds=round(raw_s, 2),
            batch=args.batch,
        )
        ratio = emit(BENCH, "backfill_ratio_pct", round(raw_s / pipeline_s * 100, 1), "%", target=">= 70")
        print_table([pipeline, raw, ratio], ["metric", "value", "unit", "path", "articles", "seconds"], title=BENCH)
    finally:
        worker.stop()
        producer.close()
        es.close()
        drop_prefix(prefix)


if __name__ == "__main__":
    main()
