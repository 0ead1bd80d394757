"""Hands article events to RabbitMQ as Celery tasks, by name, waiting for the broker's confirm."""

from __future__ import annotations

import structlog
from celery import Celery
from kombu.exceptions import OperationalError

from shared.errors import ServiceUnavailable
from shared.events import ArticleEvent
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config, declare_topology

log = structlog.get_logger()

_BROKER_ERRORS = (OperationalError, OSError, TimeoutError)


class EventPublisher:
    """Owns a producer-only Celery app (no task code imported) and its connection pool."""

    def __init__(self, *, broker_url: str, prefix: str, confirm_timeout: float, retry_after: int) -> None:
        self.prefix = prefix
        self.confirm_timeout = confirm_timeout
        self.retry_after = retry_after
        self.app = Celery("kabar-ingest", set_as_current=False)
        config = celery_config(broker_url=broker_url, prefix=prefix, confirm_timeout=confirm_timeout)
        # Socket timeouts bound every broker round trip, not only the confirm: after a failed publish
        # kombu closes the channel politely and, on a stalled broker, would wait for close-ok forever.
        transport = dict(config["broker_transport_options"])  # type: ignore[call-overload]
        transport.update(read_timeout=confirm_timeout, write_timeout=confirm_timeout)
        self.app.conf.update({**config, "broker_transport_options": transport})

    def declare(self) -> None:
        """Make sure the queues exist before the first publish (safe on every start)."""
        with self.app.connection_for_write() as conn:
            declare_topology(conn, self.prefix)

    def publish(self, events: list[ArticleEvent]) -> None:
        """Publish one task carrying these events; returns only after RabbitMQ confirmed it durable."""
        try:
            self._send(events)
        except _BROKER_ERRORS as first:
            # A pooled connection goes stale when the broker restarts or a proxy drops it; the failed
            # write marks it closed, so one more try reconnects. A duplicate (confirm lost after the
            # broker stored the first copy) is harmless: the workers apply revisions idempotently.
            log.warning("ingest.publish_retry", error=repr(first)[:200])
            try:
                self._send(events)
            except _BROKER_ERRORS as exc:
                log.warning("ingest.broker_unavailable", error=repr(exc)[:200])
                raise ServiceUnavailable(
                    "The message broker is unavailable; nothing was changed. Retry later.",
                    headers={"Retry-After": str(self.retry_after)},
                ) from exc

    def _send(self, events: list[ArticleEvent]) -> None:
        try:
            self.app.send_task(
                TASK_INDEX_EVENTS,
                kwargs={"events": [e.model_dump(mode="json") for e in events]},
                queue=Queues(self.prefix).index,
                retry=False,
                confirm_timeout=self.confirm_timeout,
                headers={"article_ids": ",".join(e.uid for e in events)[:1000]},
            )
        except _BROKER_ERRORS:
            raise
        except Exception as exc:
            # amqp raises its own errors (MessageNacked, channel errors) that are not OperationalError.
            if type(exc).__module__.startswith(("amqp", "kombu")):
                raise OperationalError(repr(exc)) from exc
            raise

    def close(self) -> None:
        self.app.close()
