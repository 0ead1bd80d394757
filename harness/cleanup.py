"""Removing everything a test, bench or demo run left under its prefix: indices, queues, Redis keys and its
PostgreSQL schema."""

from __future__ import annotations

import contextlib

from kombu import Connection
from redis import Redis

from shared.db import drop_schema, one_off_engine
from shared.es import IndexNames, create_client, drop_indices
from shared.messaging import Queues
from shared.redisconn import redis_client
from shared.settings import KabarSettings


def drop_redis_keys(redis: Redis, prefix: str) -> None:
    """Delete the prefix's Redis keys."""
    for key in redis.scan_iter(f"{prefix}:*", count=5000):
        redis.delete(key)


def drop_queues(*, broker_url: str, prefix: str) -> None:
    """Delete the prefix's queues (work, related, dead letters, dead-letter notices); gone ones are skipped."""
    with Connection(broker_url) as conn, conn.channel() as channel:
        for name in Queues(prefix).all():
            with contextlib.suppress(Exception):  # never declared, or already gone
                channel.queue_delete(name)


def drop_prefix(prefix: str, *, settings: KabarSettings | None = None) -> None:
    """Remove a prefix's indices, queues, Redis keys and schema from the KABAR_* services, or from the ones
    `settings` name (the local cluster), best effort."""
    settings = settings or KabarSettings(prefix=prefix)
    with contextlib.suppress(Exception):
        es = create_client(settings)
        drop_indices(es, IndexNames(prefix))
        es.close()
    with contextlib.suppress(Exception):
        drop_queues(broker_url=settings.broker_url, prefix=prefix)
    with contextlib.suppress(Exception), redis_client(settings) as redis:
        drop_redis_keys(redis, prefix)
    with contextlib.suppress(Exception):
        drop_prefix_schema(settings)


def drop_prefix_schema(settings: KabarSettings) -> None:
    """Drop the prefix's PostgreSQL schema (its comments)."""
    with one_off_engine(settings) as engine:
        drop_schema(engine, settings.prefix)
