"""The idempotency store is bounded by bytes: per stored answer and per newsroom, on the real Redis."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis

Make = Callable[..., dict[str, Any]]


def _stored(redis: Redis, prefix: str, key: str) -> bytes:
    [slot] = redis.keys(f"{prefix}:idem:*:{hashlib.sha256(key.encode()).hexdigest()}")
    value = redis.get(slot)
    assert isinstance(value, bytes)
    return value


def _bulk(client: TestClient, new_article: Make, n: int) -> tuple[str, list[dict[str, Any]], Any]:
    key = uuid.uuid4().hex
    items = [new_article() for _ in range(n)]
    return key, items, client.post("/v1/articles:bulk", json=items, headers={"Idempotency-Key": key})


def test_a_large_bulk_answer_is_not_kept_whole(
    tight_app: Callable[..., TestClient], redis: Redis, prefix: str, new_article: Make
) -> None:
    client = tight_app(idempotency_max_answer_bytes=600)
    key, items, first = _bulk(client, new_article, 50)
    assert first.status_code == 202
    assert len(first.content) > 6_000  # the answer itself is large ...
    assert len(_stored(redis, prefix, key)) <= 600  # ... what is kept for 24 h is not
    again = client.post("/v1/articles:bulk", json=items, headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    body = again.json()
    assert (body["accepted"], body["unchanged"], body["rejected"]) == (50, 0, 0)
    assert body["items_omitted"] is True and body["items"] == []
    # Still a replay: no article was written twice.
    state = client.get(f"/v1/articles/{items[0]['external_id']}").json()
    assert state["revision"] == first.json()["items"][0]["revision"]


def test_a_small_answer_is_replayed_whole(tight_app: Callable[..., TestClient], new_article: Make) -> None:
    client = tight_app()
    key, items, first = _bulk(client, new_article, 10)
    again = client.post("/v1/articles:bulk", json=items, headers={"Idempotency-Key": key})
    assert again.json() == first.json()


def test_a_newsroom_stores_at_most_its_byte_budget(
    tight_app: Callable[..., TestClient], redis: Redis, prefix: str, new_article: Make
) -> None:
    budget = 3_000
    client = tight_app(idempotency_max_bytes_per_newsroom=budget)
    keys = []
    for _ in range(6):
        key, _, resp = _bulk(client, new_article, 25)
        assert resp.status_code == 202
        keys.append(key)
    stored = [_stored(redis, prefix, key) for key in keys]
    # Every key still replays (no work twice), but only the first answers were kept whole.
    assert sum(len(s) for s in stored) <= budget + 6 * 500
    assert len(stored[0]) > 500  # the first answer was kept whole
    last = keys[-1]
    assert len(_stored(redis, prefix, last)) < 500
