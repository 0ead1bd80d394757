"""Durability: 202 only after RabbitMQ confirmed; broker down or stalled → 503 + Retry-After, no state change.

The shared RabbitMQ is never touched: a separate ingest process talks to it through a TCP proxy that
the test stops (broker gone) or pauses (broker alive but silent).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from kombu import Connection
from redis import Redis

from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings
from shared.messaging import Queues, dead_letter_queue, task_queues
from tests.faults.proxy import TcpProxy
from tests.stack import start_api

Make = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port=5672).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def proxied_ingest(proxy: TcpProxy, stack_env: dict[str, str], api_key: str, redis: Redis) -> Iterator[httpx.Client]:
    env = {
        **stack_env,
        "KABAR_BROKER_URL": f"amqp://guest:guest@{proxy.url_host_port}//",
        "KABAR_CONFIRM_TIMEOUT_SECONDS": "1",
        "KABAR_RETRY_AFTER_SECONDS": "3",
    }
    proc, url = start_api("ingest-proxied", "services.ingest.app:create_app", env)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
        yield client
    proc.stop()


def _state(client: httpx.Client, external_id: str) -> dict[str, Any]:
    """What ingest recorded (a worker running in the same session may still move status on)."""
    state = client.get(f"/v1/articles/{external_id}").json()
    return {k: state[k] for k in ("version", "revision", "title", "accepted_at")}


def test_broker_down_is_503_then_the_same_post_succeeds(
    proxied_ingest: httpx.Client, proxy: TcpProxy, new_article: Make
) -> None:
    article = new_article(version=1)
    assert proxied_ingest.post("/v1/articles", json=article).status_code == 202
    before = _state(proxied_ingest, article["external_id"])

    update = {**article, "version": 2, "title": "Pembaruan"}
    proxy.stop()
    try:
        down = proxied_ingest.post("/v1/articles", json=update)
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"] == "3"
        assert down.headers["content-type"] == "application/problem+json"
        bulk = proxied_ingest.post("/v1/articles:bulk", json=[new_article()])
        assert bulk.status_code == 503
        assert _state(proxied_ingest, article["external_id"]) == before
    finally:
        proxy.start()

    # The pooled connection died with the proxy; the publisher must reconnect on its own.
    up = proxied_ingest.post("/v1/articles", json=update)
    assert up.status_code == 202, up.text
    after = _state(proxied_ingest, article["external_id"])
    assert (after["version"], after["title"]) == (2, "Pembaruan")


def test_stalled_broker_times_out_to_503(proxied_ingest: httpx.Client, proxy: TcpProxy, new_article: Make) -> None:
    article = new_article()
    assert proxied_ingest.post("/v1/articles", json=new_article()).status_code == 202  # a warm connection
    with proxy.paused():
        started = time.monotonic()
        stalled = proxied_ingest.post("/v1/articles", json=article)
        assert stalled.status_code == 503
        assert time.monotonic() - started < 10
        assert proxied_ingest.get(f"/v1/articles/{article['external_id']}").status_code == 404
    # The stalled connection may still deliver its frames late; either way a retry succeeds.
    proxy.stop()
    proxy.start()
    assert proxied_ingest.post("/v1/articles", json=article).status_code in {200, 202}


@pytest.fixture
def idle_prefix(redis: Redis, broker: Connection) -> Iterator[str]:
    """A prefix no worker consumes; its queues and keys are removed afterwards."""
    prefix = f"q{uuid.uuid4().hex[:8]}"
    yield prefix
    with broker.channel() as channel:
        for queue in [*task_queues(prefix), dead_letter_queue(prefix)]:
            channel.queue_delete(queue.name)
            channel.exchange_delete(queue.exchange.name)
    for key in redis.scan_iter(f"{prefix}:*", count=1000):
        redis.delete(key)


def test_accepted_articles_wait_in_the_durable_queue(
    idle_prefix: str, redis: Redis, broker: Connection, new_article: Make
) -> None:
    key = create_key(redis=redis, prefix=idle_prefix, newsroom="channel9")
    with TestClient(
        create_app(IngestSettings(prefix=idle_prefix)), headers={"Authorization": f"Bearer {key}"}
    ) as client:
        assert client.post("/v1/articles", json=new_article()).status_code == 202
        bulk = client.post("/v1/articles:bulk", json=[new_article() for _ in range(25)])
        assert bulk.json()["accepted"] == 25
    with broker.channel() as channel:
        _, messages, consumers = channel.queue_declare(
            Queues(idle_prefix).index,
            passive=True,
        )
    # One message for the single POST, one for the whole bulk request.
    assert (messages, consumers) == (2, 0)
