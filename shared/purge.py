"""Page-cache purge notices: the index worker announces removed articles; publish processes evict their pages.

Redis pub/sub delivers a notice to whoever is subscribed at that moment and keeps nothing, so a
subscriber that was disconnected must assume it missed notices (see `follow_purges`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

import structlog
from pydantic import BaseModel, Field, ValidationError
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

log = structlog.get_logger()


class PurgeNoticeV1(BaseModel):
    """Articles whose pages must not be served from any cache any more (withdrawn or deleted)."""

    schema_version: Literal[1] = 1
    uids: list[str] = Field(min_length=1, max_length=10_000)
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


PurgeNotice = PurgeNoticeV1


def purge_channel(prefix: str) -> str:
    """The pub/sub channel of one deployment prefix."""
    return f"{prefix}:purge"


def publish_purge(redis: Redis, prefix: str, uids: Iterable[str]) -> int:
    """Announce removed articles; returns how many subscribers heard it (Redis errors propagate)."""
    unique = list(dict.fromkeys(uids))
    if not unique:
        return 0
    notice = PurgeNotice(uids=unique)
    return int(redis.publish(purge_channel(prefix), notice.model_dump_json()))


def parse_purge(raw: bytes | str) -> PurgeNotice | None:
    """A notice this code understands, or None (a newer schema or garbage is ignored, never fatal)."""
    try:
        return PurgeNotice.model_validate_json(raw)
    except ValidationError:
        return None


async def follow_purges(
    *,
    redis: AsyncRedis,
    prefix: str,
    on_purge: Callable[[PurgeNotice], None],
    on_subscribed: Callable[[], None],
    ping_every: float = 10.0,
    max_backoff: float = 30.0,
) -> None:
    """Hand every notice to on_purge until cancelled; reconnect with backoff whenever Redis goes away."""
    channel = purge_channel(prefix)
    failures = 0
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(channel)
                heard = pinged = time.monotonic()
                while True:
                    message = await pubsub.get_message(timeout=min(1.0, ping_every))
                    now = time.monotonic()
                    if message is None:
                        # A connection can die without a reset (a stalled peer or network): ask, and give up
                        # on it when even the ping goes unanswered.
                        if now - heard > 2 * ping_every:
                            raise ConnectionError(f"no reply from Redis in {now - heard:.1f}s")
                        if now - heard > ping_every and now - pinged > ping_every:
                            await pubsub.ping()
                            pinged = now
                        continue
                    heard = now
                    if message["type"] == "subscribe":
                        # Also sent when the client reconnects and resubscribes by itself. Notices sent
                        # while nobody listened are lost, so the caller starts over (clears its cache).
                        on_subscribed()
                        log.info("purge.subscribed", channel=channel, after_failures=failures)
                        failures = 0
                    elif message["type"] == "message":
                        _deliver(message.get("data"), on_purge)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let the listener die: publish keeps serving, pages expire on their own
            failures += 1
            delay = min(max_backoff, 0.25 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
            log.warning("purge.disconnected", error=type(exc).__name__, detail=str(exc)[:300], retry_in=round(delay, 2))
            await asyncio.sleep(delay)


def _deliver(data: bytes | str | None, on_purge: Callable[[PurgeNotice], None]) -> None:
    notice = parse_purge(data) if data is not None else None
    if notice is None:
        log.warning("purge.unreadable", data=repr(data)[:200])
        return
    try:
        on_purge(notice)
    except Exception:  # a bug in the handler must not cost the subscription
        log.exception("purge.handler_failed", uids=len(notice.uids))
