"""Telling the workers which threads changed (TASK_COMMENT_CHANGED), after the decision is committed.

A decision is committed first and announced second, so a worker never recounts a thread before the change
is visible to it. If RabbitMQ does not confirm, the article uids wait in a Redis set and go out with the
next announcement or the next refresh loop (`flush`), and the request answers 503: repeating it is safe,
because every action is idempotent and announces its threads again.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import structlog
from redis import Redis

from shared.comments.events import CommentsChangedV1
from shared.errors import ServiceUnavailable
from shared.messaging import TASK_COMMENT_CHANGED, Queues
from shared.producer import BROKER_ERRORS, TaskProducer

log = structlog.get_logger()

# One message's worth (CommentsChangedV1 takes at most 1000).
_CHUNK = 1000
# Unsent uids are kept this long; the refresh loop normally sends them within seconds of the broker's return.
_UNSENT_TTL_SECONDS = 7 * 86_400


@dataclass(frozen=True)
class Notifier:
    producer: TaskProducer
    redis: Redis
    prefix: str
    retry_after: int

    @property
    def unsent_key(self) -> str:
        return f"{self.prefix}:comments:unsent"

    def announce(self, article_uids: set[str] | list[str]) -> None:
        """Send the changed threads plus any an earlier failed send left; 503 if the broker does not confirm."""
        waiting = {m.decode() if isinstance(m, bytes) else str(m) for m in self.redis.smembers(self.unsent_key)}
        uids = sorted(set(article_uids) | waiting)
        if not uids:
            return
        try:
            self._send(uids)
        except BROKER_ERRORS as exc:
            self.redis.sadd(self.unsent_key, *uids)
            self.redis.expire(self.unsent_key, _UNSENT_TTL_SECONDS)
            log.warning("comments.changed_unsent", threads=len(uids), error=repr(exc)[:200])
            raise ServiceUnavailable(
                "The decision is saved, but the message broker did not confirm the update of the readers' pages;"
                " it is sent again automatically. Repeating the request is safe.",
                headers={"Retry-After": str(self.retry_after)},
            ) from exc
        if waiting:
            self.redis.srem(self.unsent_key, *waiting)

    def flush(self) -> None:
        """Send what earlier failed sends left (the refresh loop); still unsent, they wait for the next try."""
        with suppress(ServiceUnavailable):
            self.announce([])

    def _send(self, uids: list[str]) -> None:
        for start in range(0, len(uids), _CHUNK):
            message = CommentsChangedV1(article_uids=uids[start : start + _CHUNK])
            try:
                self._send_one(message)
            except BROKER_ERRORS:
                # A pooled connection goes stale when the broker restarts: one more try reconnects, and a
                # duplicate message is harmless (the workers recount absolute numbers).
                self._send_one(message)

    def _send_one(self, message: CommentsChangedV1) -> None:
        self.producer.send(
            TASK_COMMENT_CHANGED, kwargs=message.model_dump(mode="json"), queue=Queues(self.prefix).comments
        )
