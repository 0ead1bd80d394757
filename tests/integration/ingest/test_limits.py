"""Request limits: every oversized or malformed request is a clean 4xx problem, never a 500 or a hang."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
from fastapi.testclient import TestClient

Make = Callable[..., dict[str, Any]]


def test_content_length_over_the_limit_is_413(ingest: httpx.Client) -> None:
    resp = ingest.post("/v1/articles", content=b"x" * 5_000_001, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"


def test_streamed_body_over_the_limit_is_413(ingest: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(60):  # 6 MB with no Content-Length
            yield b" " * 100_000

    resp = ingest.post("/v1/articles", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413


def test_body_over_max_chars_points_at_body(ingest: httpx.Client, new_article: Make) -> None:
    resp = ingest.post("/v1/articles", json=new_article(body="a" * 500_001))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "/body"
    paras = ingest.post("/v1/articles", json=new_article(body=None, body_paragraphs=["a" * 300_000] * 2))
    assert paras.json()["errors"][0]["pointer"] == "/body_paragraphs"


def test_field_errors_have_pointers(ingest: httpx.Client, new_article: Make) -> None:
    resp = ingest.post("/v1/articles", json=new_article(title="x" * 301, tags=["ok", ""], unknown=True))
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in resp.json()["errors"]}
    assert {"/title", "/tags/1", "/unknown"} <= pointers


def test_malformed_json_and_invalid_utf8(ingest: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    assert ingest.post("/v1/articles", content=b'{"title": ', headers=headers).status_code == 422
    bad = ingest.post("/v1/articles", content=b'{"title": "\xc3\x28"}', headers=headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_rate_limit_is_429_with_retry_after(tight_app: Callable[..., TestClient]) -> None:
    client = tight_app(rate_limit_per_minute=3)
    statuses = [client.get("/v1/articles/none").status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404]
    assert statuses[3:] == [429, 429]
    limited = client.get("/v1/articles/none")
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert limited.headers["content-type"] == "application/problem+json"


def test_small_bulk_limit(tight_app: Callable[..., TestClient], new_article: Make) -> None:
    client = tight_app(max_bulk_items=2)
    assert client.post("/v1/articles:bulk", json=[new_article() for _ in range(3)]).status_code == 413
    assert client.post("/v1/articles:bulk", json=[new_article() for _ in range(2)]).status_code == 202
