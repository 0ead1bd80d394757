"""Hands article events to RabbitMQ as Celery tasks, by name, waiting for the broker's confirm."""

from __future__ import annotations

import structlog

from shared.errors import ServiceUnavailable
from shared.events import ArticleEvent
from shared.messaging import TASK_INDEX_EVENTS, Queues
from shared.producer import BROKER_ERRORS, TaskProducer

log = structlog.get_logger()


class EventPublisher:
    """Owns a producer-only Celery app (no task code imported) and its connection pool."""

    def __init__(self, *, broker_url: str, prefix: str, confirm_timeout: float, retry_after: int) -> None:
        self.prefix = prefix
        self.confirm_timeout = confirm_timeout
        self.retry_after = retry_after
        self.producer = TaskProducer(
            name="kabar-ingest", broker_url=broker_url, prefix=prefix, confirm_timeout=confirm_timeout
        )
        self.app = self.producer.app

    def declare(self) -> None:
        """Make sure the queues exist before the first publish (safe on every start)."""
        self.producer.declare()

    def publish(self, events: list[ArticleEvent]) -> None:
        """Publish one task carrying these events; returns only after RabbitMQ confirmed it durable."""
        try:
            self._send(events)
        except BROKER_ERRORS as first:
            # A pooled connection goes stale when the broker restarts or a proxy drops it; the failed
            # write marks it closed, so one more try reconnects. A duplicate (confirm lost after the
            # broker stored the first copy) is harmless: the workers apply revisions idempotently.
            log.warning("ingest.publish_retry", error=repr(first)[:200])
            try:
                self._send(events)
            except BROKER_ERRORS as exc:
                log.warning("ingest.broker_unavailable", error=repr(exc)[:200])
                raise ServiceUnavailable(
                    "The message broker is unavailable; nothing was changed. Retry later.",
                    headers={"Retry-After": str(self.retry_after)},
                ) from exc

    def _send(self, events: list[ArticleEvent]) -> None:
        self.producer.send(
            TASK_INDEX_EVENTS,
            kwargs={"events": [e.model_dump(mode="json") for e in events]},
            queue=Queues(self.prefix).index,
            headers={"article_ids": ",".join(e.uid for e in events)[:1000]},
        )

    def close(self) -> None:
        self.producer.close()
