"""Purging cached pages when articles change: surrogate keys, edge purge payloads and page-cache notices.

Publish marks every cacheable response with surrogate keys (the `xkey` header the edge indexes); the
index pipeline purges the keys of each change at the edge (services/index/edge) and announces the
changed articles to publish processes, which evict them from their in-process page cache. Both sides
name keys through the functions here, so a page and its purge always agree.

Redis pub/sub delivers a notice to whoever is subscribed at that moment and keeps nothing, so a
subscriber that was disconnected must assume it missed notices (see `follow_purges`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic import BaseModel, Field, ValidationError
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

log = structlog.get_logger()


# Surrogate keys. Pages that list many stories name each one (`shows:`), so a story's change reaches every
# list that shows it, whatever the list; lists a story may newly join are named by what they list.
HOME = "home"
FEEDS = "feeds"
SITEMAPS = "sitemaps"


def article_key(uid: str) -> str:
    """The article's own responses: its page (any slug, any language), its API answers, its 404/410."""
    return f"article:{uid}"


def shows_key(uid: str) -> str:
    """Every other page that shows the article: home, section/tag/author lists, other articles' related lists."""
    return f"shows:{uid}"


def gone_key(uid: str) -> str:
    """The edge's own 410 answers for a withdrawn or deleted article (its tombstones), cleared by a republish."""
    return f"gone:{uid}"


def section_key(slug: str) -> str:
    return f"section:{slug}"


def tag_key(tag: str) -> str:
    return f"tag:{_digest(tag)}"


def author_key(author: str) -> str:
    return f"author:{_digest(author)}"


def _digest(value: str) -> str:
    # Tags and names hold spaces and commas, which separate xkey keys: a digest keeps each one a single key.
    # Case-folded, so every spelling of a value maps to one key (purging a little more is harmless).
    folded = unicodedata.normalize("NFC", value.strip()).casefold()
    return hashlib.blake2b(folded.encode(), digest_size=8).hexdigest()


def change_keys(uid: str, document: Mapping[str, Any] | None, *, removed: bool) -> list[str]:
    """The keys to purge when this article changed: its own pages, every page showing it, the lists it
    may now join (home, its section, tags and authors), feeds and sitemaps. `document` is what the index
    holds (for a removal, what it held before); a republish also clears the edge's tombstones."""
    doc = document or {}
    keys = [article_key(uid), shows_key(uid), HOME, FEEDS, SITEMAPS]
    if not removed:
        keys.append(gone_key(uid))
    if doc.get("section_slug"):
        keys.append(section_key(str(doc["section_slug"])))
    keys += [tag_key(str(t)) for t in doc.get("tags") or [] if str(t).strip()]
    keys += [author_key(str(a)) for a in doc.get("authors") or [] if str(a).strip()]
    return list(dict.fromkeys(keys))


def tombstone_paths(uid: str, path: str | None) -> list[str]:
    """The reader URLs of an article that the edge answers 410 for itself once it is withdrawn or deleted.

    The edge keeps only `?lang=en`/`?lang=id` on article URLs (kabar.vcl), so these are every variant.
    """
    paths = [f"/api/v1/articles/{uid}", f"/api/v1/articles/{uid}/related"]
    if path and path.startswith("/"):
        paths = [path, f"{path}?lang=en", f"{path}?lang=id", *paths]
    return paths


class TombstoneV1(BaseModel):
    """An article the edge must answer 410 for, even while publish is down."""

    uid: str
    revision: int = Field(ge=1)
    paths: list[str] = Field(max_length=16)


class EdgePurgeV1(BaseModel):
    """One purge at the edge: hard-purge these keys, then install these tombstones (a task payload)."""

    schema_version: Literal[1] = 1
    keys: list[str] = Field(default_factory=list, max_length=100_000)
    tombstones: list[TombstoneV1] = Field(default_factory=list, max_length=10_000)


Tombstone = TombstoneV1
EdgePurge = EdgePurgeV1


class PurgeNoticeV1(BaseModel):
    """Articles whose cached pages must go (changed, withdrawn or deleted): publish evicts them."""

    schema_version: Literal[1] = 1
    uids: list[str] = Field(min_length=1, max_length=10_000)
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


PurgeNotice = PurgeNoticeV1


def purge_channel(prefix: str) -> str:
    """The pub/sub channel of one deployment prefix."""
    return f"{prefix}:purge"


def publish_purge(redis: Redis, prefix: str, uids: Iterable[str]) -> int:
    """Announce changed articles; returns how many subscribers heard it (Redis errors propagate)."""
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
