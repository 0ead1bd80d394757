"""A few seconds of in-process caching for rendered article pages.

A breaking story is read by thousands of people at once; serving it from memory for a few seconds
takes Elasticsearch and Jinja out of the hot path. A withdrawal shows within `ttl` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    last_modified: datetime | None
    expires: float


class MicroCache:
    def __init__(self, *, ttl: float, max_entries: int = 2_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: dict[tuple[str, str], CachedPage] = {}

    def get(self, key: tuple[str, str]) -> CachedPage | None:
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(self, key: tuple[str, str], body: bytes, last_modified: datetime | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.max_entries:
            # Dicts keep insertion order: dropping the oldest half is a cheap approximation of LRU.
            for old in list(self._items)[: self.max_entries // 2]:
                del self._items[old]
        self._items[key] = CachedPage(body, last_modified, time.monotonic() + self.ttl)
