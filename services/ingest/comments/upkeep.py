"""Ingest's background upkeep for comments: queue-size gauges, and thread changes the broker missed."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Gauge
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from services.ingest.comments.notify import Notifier
from services.ingest.comments.service import queue_sizes

log = structlog.get_logger()

QUEUE_SIZE = Gauge(
    "kabar_comment_queue_size", "Comments waiting for a moderator, by newsroom and queue", ["newsroom", "queue"]
)
_QUEUES = ("pending", "withheld", "reported")


def refresh_gauges(engine: Engine, known: set[str]) -> None:
    """Recount the queues (two grouped counts on the status index); a newsroom seen before drops to 0."""
    with Session(engine) as session:
        sizes = queue_sizes(session=session)
    known.update(newsroom for newsroom, _ in sizes)
    for newsroom in known:
        for queue in _QUEUES:
            QUEUE_SIZE.labels(newsroom, queue).set(sizes.get((newsroom, queue), 0))


async def run(*, engine: Engine, notifier: Notifier, every: float) -> None:
    """Until cancelled: gauges and unsent thread changes, every `every` seconds; PostgreSQL or the broker
    being down only skips a round."""
    known: set[str] = set()
    while True:
        try:
            await run_in_threadpool(refresh_gauges, engine, known)
        except SQLAlchemyError as exc:
            log.warning("comments.gauges_skipped", error=type(exc).__name__)
        try:
            await run_in_threadpool(notifier.flush)
        except Exception as exc:  # Redis down: the next round tries again
            log.warning("comments.flush_skipped", error=type(exc).__name__)
        await asyncio.sleep(every)


def start(*, engine: Engine, notifier: Notifier, every: float) -> asyncio.Task[None]:
    return asyncio.create_task(run(engine=engine, notifier=notifier, every=every), name="comments-upkeep")
