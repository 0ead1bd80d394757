"""Kabar on the local cluster (`scripts/services.sh cluster-up`): three Elasticsearch nodes, three RabbitMQ
nodes, a Redis primary with a replica and three Sentinels, on ports of their own beside the shared stack.

The cluster is stopped after this folder's tests (KABAR_CLUSTER_KEEP=1 leaves it up for reruns).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from elasticsearch import Elasticsearch
from kombu import Connection
from redis import Redis

from harness.cleanup import drop_prefix_schema
from harness.cluster import cluster_up, services_sh, settings_for
from harness.procs import Proc, kabar_env, start_api, start_worker
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.ingest.auth import create_key
from shared.es import IndexNames, create_client, drop_indices
from shared.messaging import Queues
from shared.redisconn import redis_client


@dataclass
class ClusterStack:
    prefix: str
    env: dict[str, str]
    settings: IndexSettings
    names: IndexNames
    es: Elasticsearch
    redis: Redis
    procs: list[Proc] = field(default_factory=list)

    def api(self, name: str, factory: str, **env: str) -> str:
        proc, url = start_api(name, factory, {**self.env, **env})
        self.procs.append(proc)
        return url

    def worker(self, queues: tuple[str, ...], *, concurrency: int = 2) -> Proc:
        proc = start_worker(self.env, prefix=self.prefix, queues=queues, concurrency=concurrency, name="cluster")
        self.procs.append(proc)
        return proc

    def client(self, url: str, newsroom: str) -> httpx.Client:
        key = create_key(redis=self.redis, prefix=self.prefix, newsroom=newsroom)
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def queue_depth(self, name: str) -> int:
        with Connection(self.settings.broker_url) as conn, conn.channel() as channel:
            return int(channel.queue_declare(name, passive=True).message_count)

    @property
    def queues(self) -> Queues:
        return Queues(self.prefix)


@pytest.fixture(scope="package")
def cluster_env() -> Iterator[dict[str, str]]:
    env = cluster_up()
    yield env
    # Six idle JVMs and Erlang nodes would take CPU from every later test on a small machine (CI's two
    # cores); KABAR_CLUSTER_KEEP=1 keeps them up for reruns.
    if os.environ.get("KABAR_CLUSTER_KEEP") != "1":
        services_sh("cluster-down")


@pytest.fixture(scope="module")
def cluster_stack(cluster_env: dict[str, str]) -> Iterator[ClusterStack]:
    prefix = f"k{uuid.uuid4().hex[:8]}"
    env = kabar_env(
        prefix,
        **cluster_env,
        KABAR_LOG_JSON="true",
        # Node losses here last seconds to a minute: retry often enough to notice the recovery soon, and long
        # enough that no message is dead-lettered while a node is away.
        KABAR_RETRY_BACKOFF_MAX_SECONDS="5",
        KABAR_MAX_RETRIES="60",
        KABAR_RELATED_COUNTDOWN_SECONDS="0.2",
        KABAR_RELATED_REFRESH_DEBOUNCE_SECONDS="0.5",
    )
    settings = settings_for(cluster_env, prefix)
    bootstrap(settings)
    stack = ClusterStack(
        prefix=prefix,
        env=env,
        settings=settings,
        names=IndexNames(prefix),
        es=create_client(settings),
        redis=redis_client(settings),
    )
    try:
        yield stack
    finally:
        for proc in reversed(stack.procs):
            proc.stop()
        with contextlib.suppress(Exception):
            drop_indices(stack.es, stack.names)
        with contextlib.suppress(Exception):
            drop_prefix_schema(settings)
        stack.es.close()
        stack.redis.close()
