"""Idempotency-Key: the same key and body replay the stored answer; a different body is refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx


def test_same_key_same_body_replays_the_first_answer(
    ingest: httpx.Client, new_article: Callable[..., dict[str, Any]]
) -> None:
    article = new_article()  # no version: without the key, a resend with new text would be version 2
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = ingest.post("/v1/articles", json=article, headers=key)
    assert first.status_code == 202
    again = ingest.post("/v1/articles", json=article, headers=key)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    state = ingest.get(f"/v1/articles/{article['external_id']}").json()
    assert state["revision"] == first.json()["revision"]


def test_same_key_other_body_is_422(ingest: httpx.Client, new_article: Callable[..., dict[str, Any]]) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert ingest.post("/v1/articles", json=new_article(), headers=key).status_code == 202
    other = ingest.post("/v1/articles", json=new_article(), headers=key)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"


def test_keys_are_per_newsroom(
    ingest: httpx.Client, other: httpx.Client, new_article: Callable[..., dict[str, Any]]
) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    article = new_article()
    mine = ingest.post("/v1/articles", json=article, headers=key)
    theirs = other.post("/v1/articles", json=article, headers=key)
    assert theirs.status_code == 202
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["uid"] != mine.json()["uid"]


def test_bulk_and_unpublish_honour_the_key(ingest: httpx.Client, new_article: Callable[..., dict[str, Any]]) -> None:
    items = [new_article(), new_article()]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = ingest.post("/v1/articles:bulk", json=items, headers=key)
    again = ingest.post("/v1/articles:bulk", json=items, headers=key)
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    path = f"/v1/articles/{items[0]['external_id']}/unpublish"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert ingest.post(path, headers=key).status_code == 202
    assert ingest.post(path, headers=key).status_code == 202  # replayed, not "unchanged"
