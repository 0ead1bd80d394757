"""Redis away (a restart, or the seconds a Sentinel failover takes) is an outage: ingest answers 503 problem+json
with Retry-After, never 500, and takes writes again as soon as Redis is back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings
from tests.faults.proxy import TcpProxy


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port=6379).start()
    yield proxy
    proxy.stop()


def test_redis_outage_is_a_503_then_writes_resume(
    proxy: TcpProxy, redis: Redis, prefix: str, new_article: Callable[..., dict[str, Any]]
) -> None:
    key = create_key(redis=redis, prefix=prefix, newsroom=f"rd-{uuid.uuid4().hex[:8]}")
    settings = IngestSettings(prefix=prefix, redis_url=f"redis://{proxy.url_host_port}/0")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.post("/v1/articles", json=new_article()).status_code == 202
        proxy.stop()
        down = client.post("/v1/articles", json=new_article())
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.headers["retry-after"] == "1"
        assert down.json()["status"] == 503
        proxy.start()
        assert client.post("/v1/articles", json=new_article()).status_code == 202
