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
import json
import os
import time
import uuid
from datetime import UTC, datetime
from itertools import cycle
from typing import Any

from celery import Celery
from elasticsearch import helpers
from pydantic import ValidationError
from redis import Redis

from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.index.indexer import build_document
from services.ingest.service import normalise
from shared.corpora import load, raw_dir
from shared.es import IndexNames, create_client, drop_indices
from shared.events import ArticleEvent, Operation
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config
from shared.models import ArticleIn
from tests.stack import start_worker

DATA = raw_dir()
NEWSROOM = "bench"


def corpus_events(n: int, corpus: str) -> list[ArticleEvent]:
    """n upsert events: the corpus replayed with fresh external ids until there are enough."""
    base: list[dict[str, Any]] = []
    for raw in load(corpus, DATA):
        try:
            ArticleIn.model_validate(raw)
        except ValidationError:
            continue
        base.append(raw)
    events = []
    for i, raw in zip(range(n), cycle(base), strict=False):
        article = ArticleIn.model_validate({**raw, "external_id": f"{raw['external_id'][:150]}-r{i}"})
        payload = normalise(newsroom=NEWSROOM, article=article, version=1)
        events.append(
            ArticleEvent(
                op=Operation.UPSERT,
                uid=payload.uid,
                newsroom=NEWSROOM,
                external_id=payload.external_id,
                revision=1,
                version=1,
                accepted_at=datetime.now(UTC),
                article=payload,
            )
        )
    return events


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
    events = corpus_events(args.articles, args.corpus)
    payloads = [e.model_dump(mode="json") for e in events]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update({"KABAR_PREFIX": prefix, "KABAR_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    worker = start_worker(env, prefix=prefix, concurrency=args.concurrency, name="bench-worker")
    producer = Celery("bench-producer", set_as_current=False)
    producer.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))
    rows = []
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
        rows.append(
            {
                "path": "broker→worker→ES",
                "articles": len(events),
                "seconds": round(pipeline_s, 2),
                "articles_per_s": round(len(events) / pipeline_s, 1),
                "publish_seconds": round(published - t0, 2),
                "batch": args.batch,
                "concurrency": args.concurrency,
                "related_scheduled": False,
            }
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
        rows.append(
            {
                "path": f"parallel_bulk x{args.concurrency} (raw)",
                "articles": ok,
                "seconds": round(raw_s, 2),
                "articles_per_s": round(len(events) / raw_s, 1),
                "batch": args.batch,
            }
        )
        ratio = rows[1]["seconds"] / rows[0]["seconds"]
        rows.append({"ratio_pipeline_to_raw": round(ratio, 3)})
        for row in rows:
            print(json.dumps(row))
        print()
        print(f"{'path':<22}{'articles':>10}{'seconds':>10}{'art/s':>10}")
        for row in rows[:2]:
            print(f"{row['path']:<22}{row['articles']:>10}{row['seconds']:>10}{row['articles_per_s']:>10}")
        print(f"pipeline / raw bulk throughput: {ratio:.0%}")
    finally:
        worker.stop()
        producer.close()
        drop_indices(es, names)
        with Redis.from_url(settings.redis_url) as redis:
            for key in redis.scan_iter(f"{prefix}:*", count=1000):
                redis.delete(key)
        with producer.connection_for_write() as conn, conn.channel() as channel:
            for q in (Queues(prefix).index, Queues(prefix).related, Queues(prefix).dead_letter):
                channel.queue_delete(q)


if __name__ == "__main__":
    main()
