"""A newsroom client for fault tests: corpus articles with fresh ids, retries like a real CMS, a ledger
of every 2xx, and the end-state check that nothing accepted was lost, stale or duplicated."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from harness.corpus import valid_articles
from shared.models import article_uid

ROOT = Path(__file__).resolve().parents[2]
MAX_BODY_CHARS = 500_000
RETRYABLE = {429, 503}


@lru_cache(maxsize=1)
def _corpus(limit: int) -> tuple[dict[str, Any], ...]:
    """Up to `limit` valid corpus articles (read once per session, by path)."""
    return tuple(valid_articles("all", limit=limit, max_body_chars=MAX_BODY_CHARS))


def corpus_articles(count: int, *, tag: str, offset: int = 0) -> list[dict[str, Any]]:
    """`count` real articles with fresh external ids `{tag}-{n}` (wrapping round the corpus if needed)."""
    pool = _corpus(6000)
    out = []
    for n in range(count):
        src = pool[(offset + n) % len(pool)]
        out.append({**src, "external_id": f"{tag}-{n:06d}", "note": f"corpus {src['external_id']}"[:2000]})
    return out


@dataclass
class Ledger:
    """Every article version the service answered 2xx for, and every status seen."""

    accepted: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, external_id: str, version: int) -> None:
        with self._lock:
            self.accepted[external_id] = max(version, self.accepted.get(external_id, 0))

    def saw(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1


class Newsroom:
    """Sends articles the way a newsroom CMS would: on 503/429 it waits Retry-After and tries again,
    on a dropped connection it retries after a second; it gives up only at the deadline."""

    def __init__(self, client: httpx.Client, ledger: Ledger | None = None) -> None:
        self.client = client
        self.ledger = ledger or Ledger()

    def _send(self, method: str, url: str, *, deadline: float, **kwargs: Any) -> httpx.Response:
        while True:
            try:
                resp = self.client.request(method, url, **kwargs)
            except httpx.TransportError:
                self.ledger.transport_errors += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
                continue
            self.ledger.saw(resp.status_code)
            if resp.status_code not in RETRYABLE:
                return resp
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} still answered {resp.status_code} at the deadline: {resp.text[:300]}")
            time.sleep(min(float(resp.headers.get("retry-after", "1")), 10))

    def bulk(self, articles: list[dict[str, Any]], *, deadline: float) -> dict[str, Any]:
        """One bulk request (retried until it gets a final answer); accepted items go in the ledger."""
        resp = self._send("POST", "/v1/articles:bulk", json=articles, deadline=deadline)
        assert resp.status_code in (200, 202), resp.text[:500]
        body = resp.json()
        for item in body["items"]:
            if item["result"] in ("accepted", "unchanged"):
                self.ledger.record(item["external_id"], item["version"])
            else:
                self.ledger.rejected.append(item)
        return body

    def post(self, article: dict[str, Any], *, deadline: float) -> httpx.Response:
        """One article; a 2xx goes in the ledger. 4xx answers are returned for the caller to judge."""
        resp = self._send("POST", "/v1/articles", json=article, deadline=deadline)
        if resp.status_code in (200, 202):
            body = resp.json()
            self.ledger.record(body["external_id"], body["version"])
        return resp

    def feed(self, batches: Iterable[list[dict[str, Any]]], *, per_second: float, deadline: float) -> None:
        """Send bulk batches at a steady article rate (a background thread's body)."""
        start = time.monotonic()
        sent = 0
        for batch in batches:
            due = start + sent / per_second
            if (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
            self.bulk(batch, deadline=deadline)
            sent += len(batch)


def batched(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def with_updates(articles: list[dict[str, Any]], *, every: int, size: int) -> list[dict[str, Any]]:
    """Version 1 of each article, and version 2 (new title) of every `every`-th, sent later in the stream."""
    stream: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for n, article in enumerate(articles):
        stream.append({**article, "version": 1})
        if n % every == 0:
            pending.append({**article, "version": 2, "title": f"{article['title'][:280]} (diperbarui)"})
        if len(pending) >= size:
            stream.extend(pending)
            pending = []
    stream.extend(pending)
    return stream


def searchable_versions(es: Any, alias: str, uids: list[str]) -> dict[str, dict[str, Any]]:
    """uid → {version, status, external_id} for the uids a search finds (not a realtime get)."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(uids), 1000):
        chunk = uids[i : i + 1000]
        resp = es.search(
            index=alias,
            query={"terms": {"uid": chunk}},
            size=len(chunk),
            source=["uid", "version", "status", "external_id"],
        )
        for hit in resp["hits"]["hits"]:
            found[hit["_source"]["uid"]] = hit["_source"]
    return found


def assert_converged(
    *, es: Any, alias: str, newsroom: str, ledger: Ledger, timeout: float, diagnostics: str = ""
) -> float:
    """Wait until every accepted article is searchable at its accepted version; then no extras, no
    duplicates. Returns how long convergence took."""
    expected = {article_uid(newsroom, ext): (ext, version) for ext, version in ledger.accepted.items()}
    assert expected, "nothing was accepted"
    start = time.monotonic()
    wrong: dict[str, Any] = {}
    while True:
        found = searchable_versions(es, alias, list(expected))
        wrong = {
            uid: found.get(uid)
            for uid, (_, version) in expected.items()
            if (found.get(uid) or {}).get("version") != version or found[uid].get("status") != "published"
        }
        if not wrong or time.monotonic() - start > timeout:
            break
        time.sleep(0.5)
    took = time.monotonic() - start
    if wrong:
        sample = [(expected[uid], found) for uid, found in itertools.islice(wrong.items(), 10)]
        missing = sum(1 for v in wrong.values() if v is None)
        raise AssertionError(
            f"{len(wrong)} of {len(expected)} accepted articles not searchable at their accepted version after"
            f" {timeout}s ({missing} missing). Sample (expected (ext, version), found): {sample}\n{diagnostics}"
        )
    es.indices.refresh(index=alias)
    count = es.count(index=alias, query={"term": {"newsroom": newsroom}})["count"]
    assert count == len(expected), f"{count} documents for newsroom {newsroom}, {len(expected)} accepted"
    dupes = es.search(
        index=alias,
        size=0,
        query={"term": {"newsroom": newsroom}},
        aggs={"dupes": {"terms": {"field": "external_id", "min_doc_count": 2, "size": 10}}},
    )["aggregations"]["dupes"]["buckets"]
    assert dupes == [], f"external ids indexed more than once: {dupes}"
    return took
