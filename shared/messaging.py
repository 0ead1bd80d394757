"""Queue and task names: the only thing ingest needs to know about the workers."""

from __future__ import annotations

from dataclasses import dataclass

from amqp.exceptions import ChannelError
from kombu import Connection, Exchange, Queue

TASK_INDEX_EVENTS = "kabar.index.apply_events"
TASK_RELATED_COMPUTE = "kabar.related.compute"
TASK_RELATED_REFRESH = "kabar.related.refresh"
TASK_RELATED_FORGET = "kabar.related.forget"
# Edge purges ride the index queue: they are part of a change becoming visible (freshness), not related work.
TASK_EDGE_PURGE = "kabar.edge.purge"
# An embargo lifting is part of a change becoming visible: the index queue, like purges.
TASK_EMBARGO_RELEASE = "kabar.embargo.release"
# Telling the outside world never delays indexing: its own queue (services/index/notify).
TASK_WEBHOOK_DELIVER = "kabar.notify.webhook"
TASK_WEBSUB_VERIFY = "kabar.notify.websub_verify"
TASK_WEBSUB_DISTRIBUTE = "kabar.notify.websub_distribute"
TASK_INDEXNOW_PING = "kabar.notify.indexnow"
NOTIFY_TASKS = (TASK_WEBHOOK_DELIVER, TASK_WEBSUB_VERIFY, TASK_WEBSUB_DISTRIBUTE, TASK_INDEXNOW_PING)
# Reader comments (shared/comments): a flood of them never delays indexing, so they have their own queue.
TASK_COMMENT_SUBMIT = "kabar.comments.submit"  # moderate and store one submission (CommentSubmitted)
TASK_COMMENT_REPORT = "kabar.comments.report"  # store one reader's report (CommentReported)
TASK_COMMENT_CHANGED = "kabar.comments.changed"  # threads changed: recount into Elasticsearch, purge pages
TASK_COMMENT_FORGET = "kabar.comments.forget"  # an article was deleted: delete its thread
COMMENT_TASKS = (TASK_COMMENT_SUBMIT, TASK_COMMENT_REPORT, TASK_COMMENT_CHANGED, TASK_COMMENT_FORGET)
# The periodic pull of a WordPress site (Celery beat): it talks to the outside world, like notifications.
TASK_WORDPRESS_PULL = "kabar.wordpress.pull"


@dataclass(frozen=True)
class Queues:
    """Queue names for one deployment prefix; indexing, related, notification and comment work never share a queue."""

    prefix: str

    @property
    def index(self) -> str:
        return f"{self.prefix}.index"

    @property
    def related(self) -> str:
        return f"{self.prefix}.related"

    @property
    def notify(self) -> str:
        return f"{self.prefix}.notify"

    @property
    def comments(self) -> str:
        return f"{self.prefix}.comments"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    @property
    def dead_notices(self) -> str:
        return f"{self.prefix}.dead-notices"

    def all(self) -> tuple[str, ...]:
        """Every queue of this prefix (teardown, health)."""
        return (self.index, self.related, self.notify, self.comments, self.dead_letter, self.dead_notices)


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
            TASK_RELATED_FORGET: {"queue": Queues(prefix).related},
            TASK_EDGE_PURGE: {"queue": Queues(prefix).index},
            TASK_EMBARGO_RELEASE: {"queue": Queues(prefix).index},
            **{name: {"queue": Queues(prefix).notify} for name in NOTIFY_TASKS},
            **{name: {"queue": Queues(prefix).comments} for name in COMMENT_TASKS},
            TASK_WORDPRESS_PULL: {"queue": Queues(prefix).notify},
        },
    }


# A message that takes its worker down (killed, out of memory, hard time limit) goes back to the queue;
# after this many such returns RabbitMQ dead-letters it (reason `delivery_limit`) instead of handing it
# to the next worker for ever. Part of the queue's declaration: changing it means redeclaring queues.
DELIVERY_LIMIT = 5


def task_queues(prefix: str) -> list[Queue]:
    """Durable quorum work queues whose rejected messages dead-letter to the prefix's dead-letter queue.

    Topic exchanges, because Celery delays countdown tasks on quorum queues through RabbitMQ itself
    (kombu's native delayed delivery routes by topic), not in the worker's memory. Both sides declare
    queues with these exact arguments; RabbitMQ refuses a redeclaration that differs.
    """
    q = Queues(prefix)
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": q.dead_letter_exchange,
        "x-dead-letter-routing-key": q.dead_letter,
    }
    return [
        Queue(
            name, Exchange(name, type="topic", durable=True), routing_key=name, durable=True, queue_arguments=arguments
        )
        for name in (q.index, q.related, q.notify, q.comments)
    ]


def _dead_letter_bound(prefix: str, name: str, **arguments: object) -> Queue:
    """A quorum queue bound to the prefix's dead-letter exchange: it receives every dead letter."""
    q = Queues(prefix)
    exchange = Exchange(q.dead_letter_exchange, type="direct", durable=True)
    return Queue(
        name, exchange, routing_key=q.dead_letter, durable=True, queue_arguments={"x-queue-type": "quorum", **arguments}
    )


def dead_letter_queue(prefix: str) -> Queue:
    """Where poison messages wait for an operator (`kabar dead-letters`); replicated like the work queues."""
    return _dead_letter_bound(prefix, Queues(prefix).dead_letter)


# A notice that cannot be handled (Redis down) is retried this many times, then dropped: the letter itself
# stays in the dead-letter queue for the operator; the notice only keeps the newsroom's status truthful.
NOTICE_DELIVERY_LIMIT = 50


def dead_notice_queue(prefix: str) -> Queue:
    """A copy of every dead letter (same exchange and key), read by workers to mark those articles failed."""
    return _dead_letter_bound(prefix, Queues(prefix).dead_notices, **{"x-delivery-limit": NOTICE_DELIVERY_LIMIT})


def declare_topology(connection: Connection, prefix: str) -> None:
    """Declare every exchange and queue (idempotent), so no message is ever routed to nowhere.

    A queue or exchange declared earlier with other arguments (the classic queues of Kabar 0.1) is
    replaced when it is empty; a non-empty one is left for the operator to drain, with a clear error.
    """
    for queue in [*task_queues(prefix), dead_letter_queue(prefix), dead_notice_queue(prefix)]:
        try:
            with connection.channel() as channel:
                queue.bind(channel).declare()
        except ChannelError as exc:
            if getattr(exc, "code", None) != 406:
                raise
            _replace_if_empty(connection, queue, exc)


def _replace_if_empty(connection: Connection, queue: Queue, cause: Exception) -> None:
    with connection.channel() as channel:
        try:
            waiting = channel.queue_declare(queue.name, passive=True).message_count
        except ChannelError:
            waiting = 0
    if waiting:
        raise RuntimeError(
            f"Queue {queue.name} exists with other arguments and holds {waiting} messages; drain it "
            "(run the old workers) and bootstrap again."
        ) from cause
    with connection.channel() as channel:
        channel.queue_delete(queue.name)
        if queue.exchange.name:
            channel.exchange_delete(queue.exchange.name)
    with connection.channel() as channel:
        queue.bind(channel).declare()


def queue_depths(*, broker_url: str, prefix: str) -> dict[str, int | None]:
    """Messages ready in each of Kabar's queues (None: the queue does not exist yet)."""
    queues = Queues(prefix)
    depths: dict[str, int | None] = {}
    with Connection(broker_url, connect_timeout=3) as conn, conn.channel() as channel:
        for name in queues.all():
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except Exception:
                depths[name] = None
                channel = conn.channel()
    return depths
