"""Queue and task names: the only thing ingest needs to know about the workers."""

from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

TASK_INDEX_EVENTS = "kabar.index.apply_events"
TASK_RELATED_COMPUTE = "kabar.related.compute"
TASK_RELATED_REFRESH = "kabar.related.refresh"


@dataclass(frozen=True)
class Queues:
    """Queue names for one deployment prefix; indexing and related work never share a queue."""

    prefix: str

    @property
    def index(self) -> str:
        return f"{self.prefix}.index"

    @property
    def related(self) -> str:
        return f"{self.prefix}.related"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"


def celery_config(*, broker_url: str, prefix: str, confirm_timeout: float = 5.0) -> dict[str, object]:
    """Celery settings both sides agree on: JSON only, persistent messages, publisher confirms."""
    return {
        "broker_url": broker_url,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_default_delivery_mode": "persistent",
        "task_default_queue": Queues(prefix).index,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": confirm_timeout,
        # A 2xx from ingest means RabbitMQ confirmed the message: the publish blocks on the confirm.
        "broker_transport_options": {"confirm_publish": True, "confirm_timeout": confirm_timeout},
        "task_queues": task_queues(prefix),
        "task_create_missing_queues": False,
        "task_routes": {
            TASK_INDEX_EVENTS: {"queue": Queues(prefix).index},
            TASK_RELATED_COMPUTE: {"queue": Queues(prefix).related},
            TASK_RELATED_REFRESH: {"queue": Queues(prefix).related},
        },
    }


def task_queues(prefix: str) -> list[Queue]:
    """Durable work queues whose rejected messages dead-letter to the prefix's dead-letter queue.

    Both sides declare queues with these exact arguments; RabbitMQ refuses a redeclaration that differs.
    """
    q = Queues(prefix)
    dead_args = {"x-dead-letter-exchange": q.dead_letter_exchange, "x-dead-letter-routing-key": q.dead_letter}
    return [
        Queue(
            q.index,
            Exchange(q.index, type="direct", durable=True),
            routing_key=q.index,
            durable=True,
            queue_arguments=dead_args,
        ),
        Queue(
            q.related,
            Exchange(q.related, type="direct", durable=True),
            routing_key=q.related,
            durable=True,
            queue_arguments=dead_args,
        ),
    ]


def dead_letter_queue(prefix: str) -> Queue:
    q = Queues(prefix)
    return Queue(
        q.dead_letter,
        Exchange(q.dead_letter_exchange, type="direct", durable=True),
        routing_key=q.dead_letter,
        durable=True,
    )


def declare_topology(connection: Connection, prefix: str) -> None:
    """Declare every exchange and queue (idempotent), so no message is ever routed to nowhere."""
    with connection.channel() as channel:
        for queue in [*task_queues(prefix), dead_letter_queue(prefix)]:
            queue.bind(channel).declare()
