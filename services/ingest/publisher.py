"""Hands article events to RabbitMQ as Celery tasks, by name, waiting for the broker's confirm."""

from __future__ import annotations

from celery import Celery
from kombu.exceptions import OperationalError

from shared.errors import ServiceUnavailable
from shared.events import ArticleEvent
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config, declare_topology


class EventPublisher:
    """Owns a producer-only Celery app (no task code imported) and its connection pool."""

    def __init__(self, *, broker_url: str, prefix: str, confirm_timeout: float, retry_after: int) -> None:
        self.prefix = prefix
        self.confirm_timeout = confirm_timeout
        self.retry_after = retry_after
        self.app = Celery("kabar-ingest", set_as_current=False)
        self.app.conf.update(celery_config(broker_url=broker_url, prefix=prefix, confirm_timeout=confirm_timeout))

    def declare(self) -> None:
        """Make sure the queues exist before the first publish (safe on every start)."""
        with self.app.connection_for_write() as conn:
            declare_topology(conn, self.prefix)

    def publish(self, events: list[ArticleEvent]) -> None:
        """Publish one task carrying these events; returns only after RabbitMQ confirmed it durable."""
        try:
            self.app.send_task(
                TASK_INDEX_EVENTS,
                kwargs={"events": [e.model_dump(mode="json") for e in events]},
                queue=Queues(self.prefix).index,
                retry=False,
                confirm_timeout=self.confirm_timeout,
                headers={"article_ids": ",".join(e.uid for e in events)[:1000]},
            )
        except (OperationalError, OSError, TimeoutError) as exc:
            raise ServiceUnavailable(
                "The message broker is unavailable; nothing was changed. Retry later.",
                headers={"Retry-After": str(self.retry_after)},
            ) from exc
        except Exception as exc:
            # amqp raises its own errors (MessageNacked, channel errors) that are not OperationalError.
            if type(exc).__module__.startswith(("amqp", "kombu")):
                raise ServiceUnavailable(
                    "The message broker refused the message; nothing was changed. Retry later.",
                    headers={"Retry-After": str(self.retry_after)},
                ) from exc
            raise

    def close(self) -> None:
        self.app.close()
