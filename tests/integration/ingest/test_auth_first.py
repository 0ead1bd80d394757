"""The API key is checked before any body is read; requests without one are limited and counted apart."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from redis import Redis

from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings
from shared.errors import PROBLEM_JSON

WRITES = [
    ("POST", "/v1/articles"),
    ("POST", "/v1/articles:bulk"),
    ("POST", "/v1/ninjs"),
    ("PUT", "/v1/articles/auth-first"),
    ("POST", "/v1/articles/auth-first/unpublish"),
]


def _outcome(result: str) -> float:
    return REGISTRY.get_sample_value("kabar_ingest_articles_total", {"result": result}) or 0.0


def _inside_one_window() -> None:
    """Per-minute counters reset on the minute; start a counting test well inside one window."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_invalid_body_without_a_key_is_401_on_every_write_route(ingest_url: str) -> None:
    for method, path in WRITES:
        for headers in ({}, {"X-API-Key": "kbr_nope"}):
            resp = httpx.request(
                method,
                f"{ingest_url}{path}",
                content=b'{"title": ',
                headers={"Content-Type": "application/json", **headers},
            )
            assert resp.status_code == 401, (method, path, headers, resp.text[:200])
            assert resp.headers["content-type"] == PROBLEM_JSON
            assert resp.headers["www-authenticate"] == "Bearer"


def test_key_is_checked_before_the_body_is_read(ingest_url: str) -> None:
    """A 4 MB body announced but never sent: ingest answers 401 at once instead of waiting for it."""
    url = urlsplit(ingest_url)
    head = (
        f"POST /v1/articles HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        "Content-Length: 4000000\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + b'{"title": "')
        sock.settimeout(5)
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            pytest.fail("ingest waited for the body of a request without a key")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.fixture
def limited(redis: Redis, prefix: str) -> Iterator[tuple[IngestSettings, str]]:
    settings = IngestSettings(prefix=prefix, unauthenticated_rate_limit_per_minute=3)
    key = create_key(redis=redis, prefix=prefix, newsroom=f"anon-{uuid.uuid4().hex[:8]}")
    yield settings, key


def _client(settings: IngestSettings, address: str, headers: dict[str, str] | None = None) -> TestClient:
    return TestClient(create_app(settings), client=(address, 40000), headers=headers)


def test_requests_without_a_key_are_rate_limited_per_address(limited: tuple[IngestSettings, str]) -> None:
    settings, key = limited
    address = "192.0.2.10"  # the counters live under the run's prefix: no other run shares them
    _inside_one_window()
    with _client(settings, address) as anon:
        statuses = [anon.post("/v1/articles", content=b"{}").status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        limited_answer = anon.get("/v1/articles/none")
        assert limited_answer.status_code == 429
        assert limited_answer.headers["content-type"] == PROBLEM_JSON
        assert 1 <= int(limited_answer.headers["retry-after"]) <= 61
    # Another address is not affected, and a valid key from the limited address still works.
    with _client(settings, "192.0.2.11") as other:
        assert other.get("/v1/articles/none").status_code == 401
    with _client(settings, address, headers={"X-API-Key": key}) as newsroom:
        assert newsroom.get("/v1/articles/none").status_code == 404


def test_requests_without_a_key_are_counted_as_unauthenticated(limited: tuple[IngestSettings, str]) -> None:
    settings, _ = limited
    with _client(settings, "198.51.100.7") as anon:
        unauthenticated, rejected = _outcome("unauthenticated"), _outcome("rejected")
        resp = anon.post("/v1/articles", content=b'{"title": ', headers={"Content-Type": "application/json"})
        assert resp.status_code == 401
        assert _outcome("unauthenticated") == unauthenticated + 1
        assert _outcome("rejected") == rejected
