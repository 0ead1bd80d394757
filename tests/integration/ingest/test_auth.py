"""Keys resolve to a newsroom, and a newsroom only ever sees and changes its own articles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


def test_missing_and_unknown_keys_are_401_problems(ingest_url: str, new_article: Callable[..., dict[str, Any]]) -> None:
    for headers in ({}, {"Authorization": "Bearer kbr_nope"}, {"X-API-Key": "kbr_nope"}, {"Authorization": "Basic x"}):
        resp = httpx.post(f"{ingest_url}/v1/articles", json=new_article(), headers=headers)
        assert resp.status_code == 401, headers
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["www-authenticate"] == "Bearer"
        assert resp.json()["status"] == 401


def test_newsrooms_are_isolated(
    ingest: httpx.Client, other: httpx.Client, new_article: Callable[..., dict[str, Any]]
) -> None:
    article = new_article(version=1)
    mine = ingest.post("/v1/articles", json=article).json()
    path = f"/v1/articles/{article['external_id']}"
    assert other.get(path).status_code == 404
    assert other.delete(path).status_code == 404
    assert other.post(f"{path}/unpublish").status_code == 404
    # The same external id from another newsroom is a different article.
    theirs = other.post("/v1/articles", json={**article, "title": "Milik redaksi lain"})
    assert theirs.status_code == 202
    assert theirs.json()["uid"] != mine["uid"]
    assert ingest.get(path).json()["title"] == article["title"]
    assert ingest.get(path).json()["newsroom"] == "channel9"
