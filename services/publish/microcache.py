"""A few seconds of in-process caching for rendered article pages.

A breaking story is read by thousands of people at once; serving it from memory for a few seconds
takes Elasticsearch and Jinja out of the hot path. A withdrawal evicts every page that shows the story
as soon as its purge notice arrives (shared/purge.py); `ttl` bounds a page's life when a notice is lost.
The cache is bounded by bytes, not entries: article pages range from a few KB to megabytes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# What an entry costs besides its body (key, dataclass, the uid set), roughly; keeps tiny pages honest.
ENTRY_OVERHEAD = 512
UID_OVERHEAD = 80


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    last_modified: datetime | None
    expires: float
    # The articles the page shows (its own and its related links): a purge of any of them evicts it.
    uids: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD + UID_OVERHEAD * len(self.uids)


class MicroCache:
    def __init__(self, *, ttl: float, max_bytes: int = 64 * 1024 * 1024, settle: float = 3.0) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        # Elasticsearch search is near-real-time (refresh_interval 1 s): a page rendered just after a purge
        # can still show the story, so pages naming a purged uid are not cached for `settle` seconds.
        self.settle = settle
        # Least recently used first. Every page lives `ttl` from its put, so put order is expiry order:
        # `_expiry` finds the expired pages at its front without a scan.
        self._items: OrderedDict[tuple[str, str], CachedPage] = OrderedDict()
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._settling: dict[str, float] = {}
        self._paused_until = 0.0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[str, str]) -> CachedPage | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item.expires < time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
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
        page = CachedPage(body, last_modified, now + self.ttl, tags)
        self._drop(key)
        if page.size > self.max_bytes:
            return  # would evict everything else and still not fit
        self._drop_expired(now)
        while self.bytes + page.size > self.max_bytes:
            self._drop(next(iter(self._items)))  # least recently used
        self._items[key] = page
        self._expiry[key] = page.expires
        self.bytes += page.size

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
            self._drop(key)
        return len(doomed)

    def clear(self) -> None:
        """Forget every page and cache none for `settle` seconds (after purge notices may have been missed)."""
        # Which stories a missed notice named is unknown, so every page waits out the refresh.
        self._items.clear()
        self._expiry.clear()
        self.bytes = 0
        self._paused_until = time.monotonic() + self.settle

    def _drop_expired(self, now: float) -> None:
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires >= now:
                return
            self._drop(key)

    def _drop(self, key: tuple[str, str]) -> None:
        page = self._items.pop(key, None)
        if page is not None:
            self._expiry.pop(key, None)
            self.bytes -= page.size
