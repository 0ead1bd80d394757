"""Ingest fixtures: fresh articles, a second newsroom, and in-process apps with tightened limits.

The in-process apps (starlette TestClient) talk to the same real Redis and RabbitMQ under the run's
prefix; they exist so limits can be set low without starting another uvicorn for each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from redis import Redis

from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings


@pytest.fixture
def new_article() -> Callable[..., dict[str, Any]]:
    """A valid native article with a fresh external id; keyword arguments override fields."""

    def make(**fields: Any) -> dict[str, Any]:
        return {
            "external_id": f"it-{uuid.uuid4().hex[:12]}",
            "title": "Banjir rendam sejumlah wilayah Jakarta",
            "body": "<p>Hujan deras sejak dini hari membuat Ciliwung meluap.</p>",
            "section": "Metro",
            **fields,
        }

    return make


@pytest.fixture(scope="session")
def other_key(redis: Redis, prefix: str) -> str:
    return create_key(redis=redis, prefix=prefix, newsroom="otherroom")


@pytest.fixture
def other(ingest_url: str, other_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_url, headers={"X-API-Key": other_key}, timeout=30) as client:
        yield client


@pytest.fixture
def tight_app(redis: Redis, prefix: str) -> Iterator[Callable[..., TestClient]]:
    """An in-process ingest app with overridden settings, on the run's prefix and real services.

    Each gets a newsroom of its own, so its rate-limit window is not shared with other tests.
    """
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = IngestSettings(prefix=prefix, **overrides)
        key = create_key(redis=redis, prefix=prefix, newsroom=f"tight-{uuid.uuid4().hex[:8]}")
        client = TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
