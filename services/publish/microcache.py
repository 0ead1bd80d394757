"""A few seconds of in-process caching for rendered article pages.

A breaking story is read by thousands of people at once; serving it from memory for a few seconds
takes Elasticsearch and Jinja out of the hot path. A withdrawal evicts every page that shows the story
as soon as its purge notice arrives (shared/purge.py); `ttl` bounds a page's life when a notice is lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    last_modified: datetime | None
    expires: float
    # The articles the page shows (its own and its related links): a purge of any of them evicts it.
    uids: frozenset[str] = frozenset()


class MicroCache:
    def __init__(self, *, ttl: float, max_entries: int = 2_000, settle: float = 3.0) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # Elasticsearch search is near-real-time (refresh_interval 1 s): a page rendered just after a purge
        # can still show the story, so pages naming a purged uid are not cached for `settle` seconds.
        self.settle = settle
        self._items: dict[tuple[str, str], CachedPage] = {}
        self._settling: dict[str, float] = {}
        self._paused_until = 0.0

    def get(self, key: tuple[str, str]) -> CachedPage | None:
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(
        self, key: tuple[str, str], body: bytes, last_modified: datetime | None, *, uids: Iterable[str] = ()
    ) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic()
        tags = frozenset(uids)
        if now < self._paused_until or (self._settling and any(self._settling.get(uid, 0.0) > now for uid in tags)):
            return
        if len(self._items) >= self.max_entries:
            # Dicts keep insertion order: dropping the oldest half is a cheap approximation of LRU.
            for old in list(self._items)[: self.max_entries // 2]:
                del self._items[old]
        self._items[key] = CachedPage(body, last_modified, now + self.ttl, tags)

    def purge(self, uids: Iterable[str]) -> int:
        """Evict every page showing any of these articles; returns how many pages went."""
        now = time.monotonic()
        self._settling = {uid: until for uid, until in self._settling.items() if until > now}
        gone = set(uids)
        for uid in gone:
            self._settling[uid] = now + self.settle
        # Purges are rare and the cache is small: a scan is cheaper to keep right than a reverse index.
        doomed = [key for key, page in self._items.items() if page.uids & gone]
        for key in doomed:
            del self._items[key]
        return len(doomed)

    def clear(self) -> None:
        """Forget every page and cache none for `settle` seconds (after purge notices may have been missed)."""
        # Which stories a missed notice named is unknown, so every page waits out the refresh.
        self._items.clear()
        self._paused_until = time.monotonic() + self.settle
