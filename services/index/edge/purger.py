"""HTTP purges to the edge caches (Varnish with xkey, deploy/varnish/kabar.vcl), and what a change purges.

A purge is two kinds of request to every edge:
- `PURGE /` with `xkey-purge: <keys>`: every object carrying any of the keys goes at once (a hard purge:
  nothing purged is kept for grace, so a withdrawn story can never come back from a stale copy);
- `PURGE <article URL>` with `X-Kabar-Tombstone: <uid>`: the edge stores its own 410 for that URL, tagged
  `gone:<uid>`. It answers readers without asking publish, so a withdrawn story is 410 at the edge even
  while publish is down or restarting (when a plain purge would leave a 503, or a stale page in grace).
  A republish purges `gone:<uid>`, and the task re-reads the article before installing one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import structlog

from shared.batching import chunks
from shared.purge import EdgePurge, Tombstone, change_keys, tombstone_paths

log = structlog.get_logger()

# Varnish refuses request headers longer than http_req_hdr_len (8 KB by default): keys go in batches.
KEYS_PER_REQUEST = 200
# After an inline purge failed, skip inline purges this long: the delayed task retries them anyway, and
# an edge that hangs must not add its timeout to every indexing batch.
INLINE_BACKOFF_SECONDS = 10.0


class EdgePurgeError(Exception):
    """An edge answered a purge with something other than success; the purge task retries."""


def change_purge(
    *, upserted: Mapping[str, Mapping[str, Any]], removed: Mapping[str, tuple[int, Mapping[str, Any] | None]]
) -> EdgePurge:
    """The purge for one applied batch: `upserted` uid -> indexed document, `removed` uid -> (revision,
    the document before the removal)."""
    keys: list[str] = []
    for uid, doc in upserted.items():
        keys += change_keys(uid, doc, removed=False)
    tombstones = []
    for uid, (revision, before) in removed.items():
        keys += change_keys(uid, before, removed=True)
        path = before.get("path") if before else None
        tombstones.append(Tombstone(uid=uid, revision=revision, paths=tombstone_paths(uid, path)))
    return EdgePurge(keys=list(dict.fromkeys(keys)), tombstones=tombstones)


class EdgePurger:
    """Purges every configured edge; one per worker process (it owns an HTTP connection pool)."""

    def __init__(self, urls: Iterable[str], *, timeout: float) -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)))
        self._inline_after = 0.0

    def purge(self, purge: EdgePurge) -> int:
        """Purge the keys, then install the tombstones, at every edge; returns objects purged. Raises on failure."""
        purged = 0
        for base in self.urls:
            for keys in chunks(purge.keys, KEYS_PER_REQUEST):
                response = self.client.request("PURGE", f"{base}/", headers={"xkey-purge": " ".join(keys)})
                self._check(response, base)
                purged += int(response.headers.get("x-kabar-purged", "0") or 0)
            for tombstone in purge.tombstones:
                for path in tombstone.paths:
                    response = self.client.request("PURGE", base + path, headers={"x-kabar-tombstone": tombstone.uid})
                    self._check(response, base)
        return purged

    def purge_inline(self, purge: EdgePurge) -> bool:
        """A first purge right after the write, never raising; False when it failed or was skipped."""
        if time.monotonic() < self._inline_after:
            return False
        try:
            self.purge(purge)
        except (httpx.HTTPError, EdgePurgeError) as exc:
            self._inline_after = time.monotonic() + INLINE_BACKOFF_SECONDS
            log.warning("edge.purge_deferred", error=type(exc).__name__, detail=str(exc)[:300])
            return False
        return True

    @staticmethod
    def _check(response: httpx.Response, base: str) -> None:
        if response.status_code != 200:
            raise EdgePurgeError(f"{base} answered {response.status_code} to a purge: {response.text[:200]}")

    def close(self) -> None:
        self.client.close()
