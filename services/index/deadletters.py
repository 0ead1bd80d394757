"""Inspect and replay the dead-letter queue: messages the workers rejected for good.

RabbitMQ records where a dead-lettered message came from in its `x-death` header; replay sends the
message back to that exchange and routing key with its body, properties and Celery headers intact.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from kombu import Connection, Exchange, Producer

from shared.messaging import Queues, declare_topology

log = structlog.get_logger()

# How many dead letters one `replay` sends back unless told otherwise: a batch an operator can watch.
REPLAY_LIMIT = 100
# The replay run that last re-sent a message; a run never takes back what it re-sent itself.
REPLAY_RUN_HEADER = "kabar_replay_run"

# Properties a republished message keeps (the broker sets the rest).
_KEPT_PROPERTIES = ("content_type", "content_encoding", "correlation_id", "reply_to", "priority", "delivery_mode")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message as an operator sees it."""

    task: str | None
    task_id: str | None
    queue: str | None
    exchange: str | None
    routing_key: str | None
    reason: str | None
    count: int
    article_ids: str | None
    body_preview: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _origin(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths else {}


def describe(message: Any) -> DeadLetter:
    """The operator's view of a raw dead-lettered message."""
    headers = message.headers or {}
    origin = _origin(headers)
    routing_keys = origin.get("routing-keys") or []
    return DeadLetter(
        task=headers.get("task"),
        task_id=headers.get("id"),
        queue=origin.get("queue"),
        exchange=origin.get("exchange"),
        routing_key=routing_keys[0] if routing_keys else None,
        reason=origin.get("reason"),
        count=int(origin.get("count") or 0),
        article_ids=headers.get("article_ids"),
        body_preview=_preview(message.body),
    )


def _preview(body: Any, limit: int = 300) -> str:
    text = body.decode(errors="replace") if isinstance(body, bytes) else json.dumps(body, default=str)
    return text[:limit]


def list_dead(*, connection: Connection, prefix: str, limit: int = 20) -> list[DeadLetter]:
    """Peek at up to `limit` dead letters without removing them (unacked gets return when the channel closes)."""
    queue = Queues(prefix).dead_letter
    out: list[DeadLetter] = []
    declare_topology(connection, prefix)
    channel = connection.channel()
    try:
        while len(out) < limit:
            message = channel.basic_get(queue, no_ack=False)
            if message is None:
                break
            out.append(describe(_as_kombu(channel, message)))
    finally:
        # Closing the channel requeues every unacknowledged message, in their original order.
        channel.close()
    return out


def replay(*, connection: Connection, prefix: str, limit: int = REPLAY_LIMIT) -> list[DeadLetter]:
    """Send up to `limit` dead letters back to the queue they died in; each is removed only once re-sent.

    A replayed message that fails again at once is dead-lettered again, behind the ones still waiting:
    replay takes at most the messages waiting when it started, and stops at any message it re-sent
    itself (marked with this run's id), so one run never loops over its own replays.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    queue = Queues(prefix).dead_letter
    run = uuid.uuid4().hex
    replayed: list[DeadLetter] = []
    declare_topology(connection, prefix)
    channel = connection.channel()
    producer = Producer(channel)
    try:
        waiting = int(channel.queue_declare(queue, passive=True).message_count)
        while len(replayed) < min(limit, waiting):
            raw = channel.basic_get(queue, no_ack=False)
            if raw is None:
                break
            message = _as_kombu(channel, raw)
            letter = describe(message)
            if (message.headers or {}).get(REPLAY_RUN_HEADER) == run:
                # Back already: left unacknowledged, so closing the channel returns it for a later run.
                log.info("dead_letter.replay_came_back", task_id=letter.task_id)
                break
            if not letter.queue:
                # Not dead-lettered by RabbitMQ (no origin): leave it for a human.
                log.warning("dead_letter.no_origin", task_id=letter.task_id)
                message.reject(requeue=True)
                break
            # x-* headers belong to the broker; a replayed message starts a fresh death history.
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            headers["kabar_replays"] = int(headers.get("kabar_replays") or 0) + 1
            headers[REPLAY_RUN_HEADER] = run
            props = {k: message.properties[k] for k in _KEPT_PROPERTIES if k in message.properties}
            producer.publish(
                message.body,
                exchange=Exchange(letter.exchange or "", type="direct", durable=True, no_declare=True),
                routing_key=letter.routing_key or letter.queue,
                headers=headers,
                serializer=None,
                retry=True,
                **props,
            )
            message.ack()
            log.info("dead_letter.replayed", task=letter.task, task_id=letter.task_id, queue=letter.queue)
            replayed.append(letter)
    finally:
        channel.close()
    return replayed


def _as_kombu(channel: Any, raw: Any) -> Any:
    """py-amqp's basic_get returns a raw message; kombu's wrapper gives headers, ack and reject."""
    return channel.message_to_python(raw) if hasattr(channel, "message_to_python") else raw
