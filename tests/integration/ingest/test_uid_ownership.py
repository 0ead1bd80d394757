"""An upsert never overwrites an article id held by another newsroom (a hash collision of two ids)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from redis import Redis

from shared.errors import PROBLEM_JSON
from shared.models import article_uid
from shared.state import StateStore

Make = Callable[..., dict[str, Any]]


def _held_by_another_newsroom(redis: Redis, prefix: str, external_id: str) -> tuple[str, dict[Any, Any]]:
    """Give channel9's uid for this external id the state of another newsroom's article (a collision)."""
    store = StateStore(redis, prefix)
    uid = article_uid("channel9", external_id)
    revision = store.reserve_revision(uid, 3)
    store.commit(
        uid,
        revision,
        op="upsert",
        version=3,
        newsroom="otherroom",
        external_id=f"their-{uuid.uuid4().hex[:8]}",
        content_hash="theirs",
        title="Milik redaksi lain",
        path="/metro/2026/05/29/milik-redaksi-lain-x",
    )
    return uid, redis.hgetall(store.key(uid))


def test_upserts_refuse_an_id_held_by_another_newsroom(
    ingest: httpx.Client, redis: Redis, prefix: str, new_article: Make
) -> None:
    writes = {
        "post": lambda a: ingest.post("/v1/articles", json=a),
        "put": lambda a: ingest.put(f"/v1/articles/{a['external_id']}", json={**a, "external_id": None}),
        "ninjs": lambda a: ingest.post(
            "/v1/ninjs",
            json={"uri": a["external_id"], "headlines": [{"value": a["title"]}], "body_html": a["body"]},
        ),
    }
    for name, write in writes.items():
        for version in (None, 2, 3, 9):
            article = new_article(**({"version": version} if version else {}))
            uid, before = _held_by_another_newsroom(redis, prefix, article["external_id"])
            resp = write(article)
            assert resp.status_code == 409, (name, version, resp.status_code, resp.text[:300])
            assert resp.headers["content-type"] == PROBLEM_JSON
            # Nothing about the other newsroom's article leaks, and nothing of it changed.
            assert "stored_version" not in resp.json() and "otherroom" not in resp.text
            assert redis.hgetall(f"{prefix}:article:{uid}") == before, name


def test_bulk_refuses_only_the_item_held_by_another_newsroom(
    ingest: httpx.Client, redis: Redis, prefix: str, new_article: Make
) -> None:
    # No version, and a version above the stored one: neither may replace the other newsroom's article.
    theirs, newer, ours = new_article(), new_article(version=9), new_article(version=1)
    held = [_held_by_another_newsroom(redis, prefix, a["external_id"]) for a in (theirs, newer)]
    resp = ingest.post("/v1/articles:bulk", json=[theirs, newer, ours])
    assert resp.status_code == 202
    *refused, accepted = resp.json()["items"]
    for item in refused:
        assert item["result"] == "rejected" and item["problem"]["status"] == 409, item
        assert item["problem"].get("stored_version") is None
    assert accepted["result"] == "accepted"
    for uid, before in held:
        assert redis.hgetall(f"{prefix}:article:{uid}") == before
