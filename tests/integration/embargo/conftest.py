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

from harness.edge import start_edge, start_purging_workers
from harness.procs import Proc
from harness.stack import private_stack
from services.ingest.auth import create_key
from shared.es import IndexNames

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
    with private_stack("m", KABAR_LOG_LEVEL="INFO", KABAR_EMBARGO_POLL_SECONDS="0.25") as own:
        _, ingest_url = own.api("ingest", "services.ingest.app:create_app")
        _, publish_url = own.api("publish", "services.publish.app:create_app")
        edge, edge_url = start_edge(publish_url=publish_url, ingest_url=ingest_url)
        own.procs.append(edge)
        key = create_key(redis=own.redis, prefix=own.prefix, newsroom=NEWSROOM)
        built = EmbargoStack(own.prefix, own.env, own.es, own.redis, own.names, ingest_url, publish_url, edge_url, key)
        built.start_workers()
        try:
            yield built
        finally:
            built.stop_workers()


@pytest.fixture
def newsroom(stack: EmbargoStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.ingest_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
