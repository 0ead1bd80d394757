"""Shared fixtures: a per-run prefix isolates indices, queues and Redis keys on the real services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from kombu import Connection
from redis import Redis
from sqlalchemy import Engine

from harness.cleanup import drop_prefix_schema, drop_queues, drop_redis_keys
from harness.procs import Proc, free_port, kabar_env, start_api, start_worker, wait_until
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.ingest.auth import create_key
from shared.corpora import shared_data_dir
from shared.db import make_engine
from shared.es import IndexNames, create_client, drop_indices

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = shared_data_dir()
SEED = SHARED_DATA / "seed" / "channel9-rusia-nato.json"


@pytest.fixture(scope="session")
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def stack_env(prefix: str) -> dict[str, str]:
    return kabar_env(
        prefix,
        KABAR_LOG_JSON="true",
        KABAR_RELATED_COUNTDOWN_SECONDS="0.2",
        KABAR_RELATED_REFRESH_DEBOUNCE_SECONDS="0.5",
        KABAR_WORKER_METRICS_PORT=str(free_port()),
    )


@pytest.fixture(scope="session")
def settings(prefix: str) -> IndexSettings:
    return IndexSettings(prefix=prefix)


@pytest.fixture(scope="session")
def names(prefix: str) -> IndexNames:
    return IndexNames(prefix)


@pytest.fixture(scope="session")
def es(settings: IndexSettings, names: IndexNames) -> Iterator[Elasticsearch]:
    client = create_client(settings)
    bootstrap(settings)
    yield client
    drop_indices(client, names)
    drop_prefix_schema(settings)
    client.close()


@pytest.fixture(scope="session")
def db(es: Elasticsearch, settings: IndexSettings) -> Iterator[Engine]:
    """The session prefix's PostgreSQL schema (reader comments), migrated by the `es` fixture's bootstrap."""
    engine = make_engine(settings, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis(settings: IndexSettings, prefix: str) -> Iterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    drop_redis_keys(client, prefix)
    client.close()


@pytest.fixture(scope="session")
def broker(settings: IndexSettings, prefix: str) -> Iterator[Connection]:
    conn = Connection(settings.broker_url)
    yield conn
    drop_queues(broker_url=settings.broker_url, prefix=prefix)
    conn.release()


@pytest.fixture(scope="session")
def worker(es: Elasticsearch, broker: Connection, stack_env: dict[str, str], prefix: str) -> Iterator[Proc]:
    """Index work in one worker, related, notification and comment work in another (as the demo runs them);
    yields the index worker."""
    index = start_worker(stack_env, prefix=prefix, queues=("index",))
    related_env = {**stack_env, "KABAR_WORKER_METRICS_PORT": str(free_port())}
    related = start_worker(
        related_env, prefix=prefix, queues=("related", "notify", "comments"), name="worker-related", concurrency=1
    )
    yield index
    related.stop()
    index.stop()


@pytest.fixture(scope="session")
def ingest_url(es: Elasticsearch, broker: Connection, redis: Redis, stack_env: dict[str, str]) -> Iterator[str]:
    proc, url = start_api("ingest", "services.ingest.app:create_app", stack_env)
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def publish_url(es: Elasticsearch, stack_env: dict[str, str]) -> Iterator[str]:
    proc, url = start_api("publish", "services.publish.app:create_app", stack_env)
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def api_key(redis: Redis, prefix: str) -> str:
    return create_key(redis=redis, prefix=prefix, newsroom="channel9")


@pytest.fixture
def ingest(ingest_url: str, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
        yield client


@pytest.fixture
def publish(publish_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=publish_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def seed_article() -> dict[str, Any]:
    return json.loads(SEED.read_text())


def wait_for_search(publish: httpx.Client, q: str, uid: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll the reader search API until the article shows up (or time out)."""

    def found() -> dict[str, Any] | None:
        body = publish.get("/api/v1/search", params={"q": q}).json()
        return next((r for r in body["results"] if r["uid"] == uid), None)

    return wait_until(found, timeout=timeout, what=f"{uid} searchable by {q!r}")  # type: ignore[return-value]
