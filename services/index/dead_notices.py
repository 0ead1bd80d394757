"""Tell the newsroom about messages RabbitMQ dead-lettered by itself.

A message that takes its worker down on every delivery (killed, out of memory, past the hard time limit)
is dead-lettered by the queue's delivery limit: no task ever fails, so no `on_failure` marks its articles,
and they would read `accepted` for ever. Every dead letter is also routed to a notices queue; this consumer,
run inside each worker, marks the articles of such letters failed with the reason. Letters from tasks that
failed normally were marked by the task already, with a more precise reason, and are only acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from celery import bootsteps
from kombu import Consumer

from shared.messaging import DELIVERY_LIMIT, TASK_INDEX_EVENTS, dead_notice_queue

if TYPE_CHECKING:
    from kombu.message import Message

    from services.index.celery_app import KabarCelery

log = structlog.get_logger()

WORKER_LOST = (
    f"dead-lettered: its worker was lost on each of {DELIVERY_LIMIT + 1} deliveries "
    "(killed, out of memory or past the hard time limit)"
)


def worker_lost_events(body: Any, headers: dict[str, Any]) -> list[tuple[str, int]]:
    """(uid, revision) of the articles in a letter the delivery limit dead-lettered; none for any other."""
    deaths = headers.get("x-death") or []
    if not deaths or deaths[0].get("reason") != "delivery_limit" or headers.get("task") != TASK_INDEX_EVENTS:
        return []
    # Celery's message protocol 2: the body is [args, kwargs, embed].
    kwargs = body[1] if isinstance(body, list) and len(body) > 1 and isinstance(body[1], dict) else {}
    found = []
    for event in kwargs.get("events") or []:
        try:
            found.append((str(event["uid"]), int(event["revision"])))
        except (KeyError, TypeError, ValueError):
            continue  # an unreadable event has no article to mark
    return found


class DeadLetterNotices(bootsteps.ConsumerStep):
    """A consumer on the notices queue beside the task consumer, in the worker's main process."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.kabar_app: KabarCelery = parent.app

    def get_consumers(self, channel: Any) -> list[Consumer]:
        queue = dead_notice_queue(self.kabar_app.kabar_settings.prefix)
        return [Consumer(channel, queues=[queue], callbacks=[self.on_notice], accept=["json"], prefetch_count=10)]

    def on_notice(self, body: Any, message: Message) -> None:
        events = worker_lost_events(body, message.headers or {})
        try:
            store = self.kabar_app.context.store
            for uid, revision in events:
                # Never marks a revision Elasticsearch applied (an earlier delivery may have written it).
                store.mark_failed(uid, revision, WORKER_LOST)
        except Exception as exc:  # Redis unavailable: try again (the queue's delivery limit bounds it)
            log.warning("dead_notice.failed", error=str(exc)[:300])
            message.requeue()
            return
        if events:
            log.error("dead_notice.worker_lost", article_ids=[uid for uid, _ in events])
        message.ack()
