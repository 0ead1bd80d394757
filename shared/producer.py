"""A producer-only Celery app: sends Kabar tasks by name and waits for RabbitMQ's publisher confirm.

Ingest (article events) and publish (WebSub verification requests) send tasks this way; neither imports
worker code. Every broker failure comes out as kombu's OperationalError, so callers handle one type.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from shared.messaging import celery_config, declare_topology

BROKER_ERRORS = (OperationalError, OSError, TimeoutError)


class TaskProducer:
    """Owns a Celery app with no tasks (only names and routes) and its connection pool."""

    def __init__(self, *, name: str, broker_url: str, prefix: str, confirm_timeout: float) -> None:
        self.prefix = prefix
        self.confirm_timeout = confirm_timeout
        self.app = Celery(name, set_as_current=False)
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

    def send(
        self,
        task: str,
        *,
        kwargs: dict[str, Any],
        queue: str,
        headers: dict[str, str] | None = None,
        countdown: float | None = None,
    ) -> None:
        """Send one task; returns only after RabbitMQ confirmed it durable (BROKER_ERRORS otherwise)."""
        try:
            self.app.send_task(
                task,
                kwargs=kwargs,
                queue=queue,
                retry=False,
                confirm_timeout=self.confirm_timeout,
                headers=headers or {},
                countdown=countdown,
            )
        except BROKER_ERRORS:
            raise
        except Exception as exc:
            # amqp raises its own errors (MessageNacked, channel errors) that are not OperationalError.
            if type(exc).__module__.startswith(("amqp", "kombu")):
                raise OperationalError(repr(exc)) from exc
            raise

    def close(self) -> None:
        self.app.close()
