"""Bulk: JSON arrays and NDJSON, per-item results with pointers, and the item-count limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Make = Callable[..., dict[str, Any]]


def test_json_array_gives_per_item_results_in_order(ingest: httpx.Client, new_article: Make) -> None:
    existing = new_article(version=1)
    assert ingest.post("/v1/articles", json=existing).status_code == 202
    fresh = new_article()
    items = [
        fresh,
        existing,  # a replay
        {**new_article(), "title": ""},  # invalid
        {**existing, "version": 0},  # invalid version
        fresh,  # a duplicate in the same request
        {**new_article(), "nope": 1},  # unknown native field
    ]
    resp = ingest.post("/v1/articles:bulk", json=items)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert (body["accepted"], body["unchanged"], body["rejected"]) == (1, 1, 4)
    results = body["items"]
    assert [r["result"] for r in results] == ["accepted", "unchanged", "rejected", "rejected", "rejected", "rejected"]
    assert [r["index"] for r in results] == list(range(6))
    assert results[2]["problem"]["errors"][0]["pointer"] == "/2/title"
    assert results[3]["problem"]["errors"][0]["pointer"] == "/3/version"
    assert results[4]["problem"]["status"] == 409
    assert results[5]["problem"]["errors"][0]["pointer"] == "/5/nope"
    assert ingest.get(f"/v1/articles/{fresh['external_id']}").json()["status"] in {"accepted", "published"}


def test_stale_version_in_bulk_is_rejected_with_stored_version(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article(version=4)
    ingest.post("/v1/articles", json=article)
    resp = ingest.post("/v1/articles/bulk", json=[{**article, "version": 3, "title": "lama"}])
    assert resp.status_code == 200  # nothing accepted
    problem = resp.json()["items"][0]["problem"]
    assert problem["status"] == 409 and problem["stored_version"] == 4


def test_ndjson(ingest: httpx.Client, new_article: Make) -> None:
    lines = [new_article() for _ in range(3)]
    body = "\n".join(json.dumps(a) for a in lines) + "\n\n"
    resp = ingest.post("/v1/articles:bulk", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted"] == 3


def test_malformed_bodies_are_400_problems(ingest: httpx.Client) -> None:
    ndjson = ingest.post(
        "/v1/articles:bulk", content=b'{"a": 1}\n{oops', headers={"Content-Type": "application/x-ndjson"}
    )
    assert ndjson.status_code == 400
    assert "Line 2" in ndjson.json()["detail"]
    assert (
        ingest.post("/v1/articles:bulk", content=b"[{", headers={"Content-Type": "application/json"}).status_code == 400
    )
    utf8 = ingest.post("/v1/articles:bulk", content=b'["\xff"]', headers={"Content-Type": "application/json"})
    assert utf8.status_code == 400
    assert ingest.post("/v1/articles:bulk", json={"not": "a list"}).status_code == 422
    assert ingest.post("/v1/articles:bulk", json=[]).status_code == 422


def test_too_many_items_is_413(ingest: httpx.Client) -> None:
    resp = ingest.post("/v1/articles:bulk", json=[{}] * 501)
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
