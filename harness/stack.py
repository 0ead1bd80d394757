"""A stack on a prefix of its own: for tests and benches that start, stop or configure their own workers.

The session's workers consume the session prefix's queues; a test that kills workers across a release, or
needs workers with other settings (purging an edge, a short retry budget), would race them. Such a test
takes a fresh prefix here: its indices and queues bootstrapped, clients to Elasticsearch and Redis, the
environment every process it starts gets, and on the way out every process stopped (last started first)
and everything under the prefix removed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from redis import Redis

from harness.cleanup import drop_prefix
from harness.procs import Proc, free_port, kabar_env, start_api, start_worker
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from shared.es import IndexNames, create_client
from shared.redisconn import redis_client


@dataclass
class PrivateStack:
    prefix: str
    settings: IndexSettings
    es: Elasticsearch
    redis: Redis
    names: IndexNames
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def api(self, name: str, app: str, env: dict[str, str] | None = None) -> tuple[Proc, str]:
        """Start ingest or publish (`services.<name>.app:create_app`) on this prefix; stopped on the way out."""
        proc, url = start_api(name, app, env or self.env)
        self.procs.append(proc)
        return proc, url

    def worker(
        self, queues: Sequence[str], *, name: str, concurrency: int = 1, env: dict[str, str] | None = None
    ) -> Proc:
        """A worker on this prefix's queues (kinds), stopped on the way out."""
        env = {**(env or self.env), "KABAR_WORKER_METRICS_PORT": str(free_port())}  # one port a worker
        proc = start_worker(env, prefix=self.prefix, queues=queues, name=name, concurrency=concurrency)
        self.procs.append(proc)
        return proc


@contextmanager
def private_stack(letter: str, **env: str) -> Iterator[PrivateStack]:
    """A fresh prefix (`letter` + 8 hex digits) with short related-link delays; `env` adds or overrides."""
    prefix = f"{letter}{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    bootstrap(settings)
    stack = PrivateStack(
        prefix=prefix,
        settings=settings,
        es=create_client(settings),
        redis=redis_client(settings),
        names=IndexNames(prefix),
        env=kabar_env(
            prefix,
            KABAR_LOG_JSON="true",
            KABAR_RELATED_COUNTDOWN_SECONDS="0.2",
            KABAR_RELATED_REFRESH_DEBOUNCE_SECONDS="0.5",
            **env,
        ),
    )
    try:
        yield stack
    finally:
        for proc in reversed(stack.procs):
            proc.stop()
        drop_prefix(prefix)
        stack.redis.close()
        stack.es.close()
