"""The same batch delivered twice, its versions shuffled, converges to the highest version everywhere.

Ingest's documented behaviour: an older version than the stored one is a 409 (with stored_version),
the same version with the same content is an idempotent 200 `unchanged`.
"""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.models import article_uid
from tests.faults.conftest import FaultStack
from tests.faults.newsroom import Newsroom, assert_converged, corpus_articles
from tests.stack import Proc


def _versions(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Versions 1..3 of each article, each version with its own title, in shuffled order."""
    items = [{**a, "version": v, "title": f"{a['title'][:270]} (versi {v})"} for a in articles for v in (1, 2, 3)]
    random.Random(7).shuffle(items)
    return items


def _bulk_chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Chunks in the shuffled order, but never one external id twice in a request (the API refuses that)."""
    chunks: list[list[dict[str, Any]]] = []
    for item in items:
        target = next(
            (c for c in chunks if len(c) < size and all(x["external_id"] != item["external_id"] for x in c)), None
        )
        if target is None:
            chunks.append(target := [])
        target.append(item)
    return chunks


def _check_answer(item: dict[str, Any], status: int, body: dict[str, Any]) -> None:
    if status == 409:
        assert body["stored_version"] >= item["version"], body
    else:
        assert status in (200, 202), body


def _assert_final(stack: FaultStack, newsroom: Newsroom, name: str, articles: list[dict[str, Any]]) -> None:
    assert newsroom.ledger.accepted == {a["external_id"]: 3 for a in articles}
    for article in articles[:20]:
        state = newsroom.client.get(f"/v1/articles/{article['external_id']}").json()
        assert state["version"] == 3, state
        assert state["title"].endswith("(versi 3)"), state
    assert_converged(es=stack.es, alias=stack.names.articles, newsroom=name, ledger=newsroom.ledger, timeout=60)
    docs = stack.es.mget(index=stack.names.articles, ids=[article_uid(name, a["external_id"]) for a in articles])
    assert all(d["_source"]["title"].endswith("(versi 3)") for d in docs["docs"])


def test_batch_twice_in_shuffled_version_order_converges(faults_stack: FaultStack, faults_worker: Proc) -> None:
    stack = faults_stack
    name = f"dup{uuid.uuid4().hex[:6]}"
    newsroom = Newsroom(stack.client(stack.new_key(name)))
    articles = corpus_articles(150, tag=name, offset=3000)
    items = _versions(articles)
    deadline = time.monotonic() + 120

    # First delivery: bulk requests in shuffled order; second: the same items again, one POST each.
    for chunk in _bulk_chunks(items, 50):
        body = newsroom.bulk(chunk, deadline=deadline)
        for item, result in zip(chunk, body["items"], strict=True):
            if result["result"] == "rejected":
                _check_answer(item, result["problem"]["status"], result["problem"])
    statuses = []
    for item in items:
        resp = newsroom.post(item, deadline=deadline)
        _check_answer(item, resp.status_code, resp.json())
        statuses.append(resp.status_code)
    # The second delivery changes nothing: version 3 is a replay (200), everything older a 409.
    assert set(statuses) <= {200, 409}
    assert statuses.count(200) == len(articles)

    _assert_final(stack, newsroom, name, articles)


@pytest.mark.slow
def test_concurrent_shuffled_deliveries_converge(faults_stack: FaultStack, faults_worker: Proc) -> None:
    """Eight CMS threads deliver the shuffled versions twice at the same time (retry queues racing)."""
    stack = faults_stack
    name = f"race{uuid.uuid4().hex[:6]}"
    newsroom = Newsroom(stack.client(stack.new_key(name)))
    articles = corpus_articles(100, tag=name, offset=3500)
    items = _versions(articles) * 2
    deadline = time.monotonic() + 120

    def send(item: dict[str, Any]) -> None:
        resp = newsroom.post(item, deadline=deadline)
        _check_answer(item, resp.status_code, resp.json())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, items))

    _assert_final(stack, newsroom, name, articles)
