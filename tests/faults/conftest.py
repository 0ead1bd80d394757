"""Fault tests run against a PRIVATE second stack (own ports, folders, Erlang node and epmd), started
by the project's own scripts/services.sh, so stopping Elasticsearch or RabbitMQ here never touches
the shared services other test runs use.

These fixtures deliberately shadow none of tests/conftest.py's names: everything here is `faults_*`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from kombu import Connection
from redis import Redis

from harness.cleanup import drop_prefix_schema
from harness.procs import Proc, kabar_env, start_api, start_worker
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.ingest.auth import create_key
from shared.es import IndexNames, create_client, drop_indices
from shared.messaging import Queues

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SH = ROOT / "scripts" / "services.sh"

ES_PORT = 9250
RABBIT_PORT = 5680
REDIS_PORT = 6390
STACK_ENV = {
    "KABAR_LOCAL_DIR": str(ROOT / ".local" / "faults-stack"),
    "KABAR_ES_PORT": str(ES_PORT),
    "KABAR_RABBIT_PORT": str(RABBIT_PORT),
    "KABAR_RABBIT_DIST_PORT": "25680",
    "KABAR_EPMD_PORT": "4380",
    "KABAR_REDIS_PORT": str(REDIS_PORT),
    "KABAR_RABBIT_NODE": "kabarfaults@localhost",
    "KABAR_ES_HEAP": "512m",
    # PostgreSQL is not what these tests break: the private stack uses the shared one (its own schema).
    "KABAR_POSTGRES": "off",
}
ES_URL = f"http://127.0.0.1:{ES_PORT}"
BROKER_URL = f"amqp://guest:guest@127.0.0.1:{RABBIT_PORT}//"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


def services_sh(command: str, *, timeout: float = 300) -> None:
    """Run scripts/services.sh with the private stack's settings (never the shared stack's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update(STACK_ENV)
    result = subprocess.run(
        ["bash", str(SERVICES_SH), command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"services.sh {command} failed ({result.returncode}):\n{result.stderr[-3000:]}")


@dataclass
class FaultStack:
    """The private stack plus the Kabar processes the fault tests run on it."""

    prefix: str
    env: dict[str, str]
    settings: IndexSettings
    names: IndexNames
    es: Elasticsearch
    redis: Redis
    ingest: Proc
    ingest_url: str
    workers: list[Proc] = field(default_factory=list)

    @property
    def queues(self) -> Queues:
        return Queues(self.prefix)

    def start_worker(
        self, concurrency: int = 2, *, env: dict[str, str] | None = None, queues: tuple[str, ...] = ("index",)
    ) -> Proc:
        """A worker on the index queue only, unless told otherwise (queue kinds: "index", "related").

        Related-link tasks are scheduled (so that code path runs) but left queued: they are not what
        these tests check, and on two cores they would only slow indexing down.
        """
        proc = start_worker(env or self.env, prefix=self.prefix, concurrency=concurrency, name="faults", queues=queues)
        self.workers.append(proc)
        return proc

    def ensure_worker(self) -> Proc:
        alive = [w for w in self.workers if w.alive()]
        return alive[0] if alive else self.start_worker()

    def new_key(self, newsroom: str) -> str:
        return create_key(redis=self.redis, prefix=self.prefix, newsroom=newsroom)

    def client(self, key: str, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)

    def dead_letters(self) -> int:
        """Messages that failed for good on this prefix."""
        with Connection(self.settings.broker_url) as conn, conn.channel() as channel:
            return int(channel.queue_declare(self.queues.dead_letter, passive=True).message_count)


@pytest.fixture(scope="session")
def faults_stack() -> Iterator[FaultStack]:
    """Bring the private services up (idempotent), run ingest on them, and take everything down after."""
    services_sh("up", timeout=600)
    prefix = f"f{uuid.uuid4().hex[:8]}"
    env = kabar_env(
        prefix,
        KABAR_ES_URL=ES_URL,
        KABAR_BROKER_URL=BROKER_URL,
        KABAR_REDIS_URL=REDIS_URL,
        KABAR_LOG_JSON="true",
        # Outages here last ~45 s (Elasticsearch restarts slowly): a shorter backoff cap makes
        # workers notice the recovery sooner, and more retries keep the total patience well
        # above the outage, as the default policy (12 retries, 60 s cap) does.
        KABAR_RETRY_BACKOFF_MAX_SECONDS="10",
        KABAR_MAX_RETRIES="40",
    )
    settings = IndexSettings(prefix=prefix, es_url=ES_URL, broker_url=BROKER_URL, redis_url=REDIS_URL)
    names = IndexNames(prefix)
    es = create_client(settings)
    redis = Redis.from_url(REDIS_URL)
    bootstrap(settings)
    ingest, url = start_api("faults-ingest", "services.ingest.app:create_app", env)
    stack = FaultStack(
        prefix=prefix, env=env, settings=settings, names=names, es=es, redis=redis, ingest=ingest, ingest_url=url
    )
    try:
        yield stack
    finally:
        for proc in [*stack.workers, ingest]:
            proc.stop()
        with contextlib.suppress(Exception):  # the stack goes down anyway; this only saves disk
            drop_indices(es, names)
        with contextlib.suppress(Exception):  # the shared PostgreSQL stays up: its schema must go
            drop_prefix_schema(settings)
        es.close()
        redis.close()
        if os.environ.get("KABAR_FAULTS_KEEP_STACK") != "1":
            services_sh("down")


@pytest.fixture
def faults_worker(faults_stack: FaultStack) -> Proc:
    """A running worker (the one a previous test left, or a new one)."""
    return faults_stack.ensure_worker()
