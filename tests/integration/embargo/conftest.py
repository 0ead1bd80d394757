"""A whole stack on a prefix of its own for the embargo tests: ingest, publish behind a real edge, workers.

The tests stop and start the workers across a release, so they cannot share the session's workers (a
session worker consuming the same queues would release the story while "every worker is down"): this
package gets its own prefix, indices, queues, key and processes, and removes them afterwards.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from elasticsearch import Elasticsearch
from redis import Redis

from harness.cleanup import drop_queues, drop_redis_keys
from harness.edge import start_edge, start_purging_workers
from harness.procs import Proc, kabar_env, start_api
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.ingest.auth import create_key
from shared.es import IndexNames, create_client, drop_indices

NEWSROOM = "embargo-room"


@dataclass
class EmbargoStack:
    prefix: str
    env: dict[str, str]
    es: Elasticsearch
    redis: Redis
    names: IndexNames
    ingest_url: str
    publish_url: str
    edge_url: str
    api_key: str
    workers: list[Proc] = field(default_factory=list)

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.stop()
        self.workers = []

    def kill_workers(self) -> None:
        """Every worker down at once, as in a crash or a host going away (a warm shutdown takes seconds)."""
        for proc in self.workers:
            proc.kill(signal.SIGKILL)
        for proc in self.workers:
            if proc.popen is not None:
                proc.popen.wait(10)
        self.workers = []

    def start_workers(self) -> None:
        """The index worker (which polls the release schedule) and the related worker, purging the edge."""
        if not self.workers:
            self.workers = start_purging_workers(self.env, prefix=self.prefix, edge_urls=[self.edge_url])


@pytest.fixture(scope="package")
def stack() -> Iterator[EmbargoStack]:
    prefix = f"m{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    es = create_client(settings)
    names = IndexNames(prefix)
    bootstrap(settings)
    redis = Redis.from_url(settings.redis_url)
    env = kabar_env(
        prefix,
        KABAR_LOG_JSON="true",
        KABAR_LOG_LEVEL="INFO",
        KABAR_RELATED_COUNTDOWN_SECONDS="0.2",
        KABAR_RELATED_REFRESH_DEBOUNCE_SECONDS="0.5",
        KABAR_EMBARGO_POLL_SECONDS="0.25",
    )
    procs: list[Proc] = []
    built: EmbargoStack | None = None
    try:
        ingest, ingest_url = start_api("ingest", "services.ingest.app:create_app", env)
        procs.append(ingest)
        publish, publish_url = start_api("publish", "services.publish.app:create_app", env)
        procs.append(publish)
        edge, edge_url = start_edge(publish_url=publish_url, ingest_url=ingest_url)
        procs.append(edge)
        key = create_key(redis=redis, prefix=prefix, newsroom=NEWSROOM)
        built = EmbargoStack(prefix, env, es, redis, names, ingest_url, publish_url, edge_url, key)
        built.start_workers()
        yield built
    finally:
        if built is not None:
            built.stop_workers()
        for proc in reversed(procs):
            proc.stop()
        drop_indices(es, names)
        drop_queues(broker_url=settings.broker_url, prefix=prefix)
        drop_redis_keys(redis, prefix)
        redis.close()
        es.close()


@pytest.fixture
def newsroom(stack: EmbargoStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.ingest_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
