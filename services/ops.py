"""Operator commands: worker health, pipeline status, Elasticsearch snapshots, state rebuild."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from elasticsearch import Elasticsearch
from kombu import Connection
from redis import Redis

from services.index.state_rebuild import rebuild_state
from shared.es import IndexNames, create_client
from shared.messaging import Queues, celery_config
from shared.settings import KabarSettings

SNAPSHOT_REPOSITORY_SUFFIX = "fs-snapshots"


def worker_health(*, settings: KabarSettings, timeout: float = 5.0) -> list[str]:
    """Names of the workers that answered a broadcast ping (empty: none is alive)."""
    app = Celery(set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=settings.prefix))
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return [name for reply in replies for name in reply]


def queue_depths(*, broker_url: str, prefix: str) -> dict[str, int | None]:
    """Messages ready in each of Kabar's queues (None: the queue does not exist yet)."""
    queues = Queues(prefix)
    depths: dict[str, int | None] = {}
    with Connection(broker_url, connect_timeout=3) as conn, conn.channel() as channel:
        for name in (queues.index, queues.related, queues.dead_letter):
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except Exception:
                depths[name] = None
                channel = conn.channel()
    return depths


def pipeline_status(*, settings: KabarSettings, es: Elasticsearch) -> dict[str, Any]:
    names = IndexNames(settings.prefix)
    counts = {}
    for status in ("published", "withdraw", "delete"):
        counts[status] = es.count(index=names.articles, query={"term": {"status": status}})["count"]
    return {
        "elasticsearch": es.cluster.health()["status"],
        "articles": counts,
        "related_lists": es.count(index=names.related)["count"],
        "queues": queue_depths(broker_url=settings.broker_url, prefix=settings.prefix),
        "workers": worker_health(settings=settings, timeout=2),
    }


def snapshot_repository(prefix: str) -> str:
    return f"{prefix}-{SNAPSHOT_REPOSITORY_SUFFIX}"


def create_snapshot(*, es: Elasticsearch, prefix: str, name: str | None = None) -> str:
    """Snapshot the prefix's indices (with aliases) into a filesystem repository under path.repo."""
    repo = snapshot_repository(prefix)
    es.snapshot.create_repository(name=repo, repository={"type": "fs", "settings": {"location": repo}})
    name = name or f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000}"
    es.snapshot.create(
        repository=repo, snapshot=name, indices=f"{prefix}-*", include_global_state=False, wait_for_completion=True
    )
    return name


def restore_snapshot(*, es: Elasticsearch, prefix: str, name: str | None = None) -> str:
    """Restore a snapshot (the latest by default), replacing the prefix's current indices."""
    repo = snapshot_repository(prefix)
    if name is None:
        snapshots = es.snapshot.get(repository=repo, snapshot="_all")["snapshots"]
        if not snapshots:
            raise SystemExit(f"no snapshots in repository {repo}")
        name = max(snapshots, key=lambda s: s["start_time_in_millis"])["snapshot"]
    info = es.snapshot.get(repository=repo, snapshot=name)["snapshots"][0]
    for index in info["indices"]:
        es.options(ignore_status=404).indices.delete(index=index)
    es.snapshot.restore(
        repository=repo,
        snapshot=name,
        indices=",".join(info["indices"]),
        include_aliases=True,
        wait_for_completion=True,
    )
    es.cluster.health(index=",".join(info["indices"]), wait_for_status="yellow", timeout="60s")
    return name


def register(sub: argparse._SubParsersAction) -> None:
    health = sub.add_parser("worker-health", help="exit 0 when at least one index worker answers a ping")
    health.add_argument("--timeout", type=float, default=5.0)
    health.set_defaults(func=_worker_health)
    status = sub.add_parser("status", help="pipeline status: queues, workers, article counts (JSON)")
    status.set_defaults(func=_status)
    snap = sub.add_parser("snapshot", help="Elasticsearch snapshots to a filesystem repository")
    actions = snap.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create")
    create.add_argument("--name")
    create.set_defaults(func=_snapshot_create)
    restore = actions.add_parser("restore")
    restore.add_argument("--name")
    restore.add_argument("--latest", action="store_true", help="the newest snapshot (the default)")
    restore.set_defaults(func=_snapshot_restore)
    state = sub.add_parser("state", help="article state in Redis")
    state_actions = state.add_subparsers(dest="action", required=True)
    rebuild = state_actions.add_parser(
        "rebuild", help="rebuild every article's state from Elasticsearch after Redis lost it (keeps newer state)"
    )
    rebuild.set_defaults(func=_state_rebuild)


def _worker_health(args: argparse.Namespace) -> int:
    workers = worker_health(settings=KabarSettings(), timeout=args.timeout)
    print(json.dumps({"workers": workers}))
    return 0 if workers else 1


def _with_es(action: Callable[[Elasticsearch, KabarSettings], Any], *, timeout: float = 30) -> int:
    """Run one command against Elasticsearch with a client it owns; print the result."""
    settings = KabarSettings()
    es = create_client(settings).options(request_timeout=timeout)
    try:
        result = action(es, settings)
    finally:
        es.close()
    print(result if isinstance(result, str) else json.dumps(result, indent=2))
    return 0


def _with_stores(action: Callable[[Elasticsearch, Redis, KabarSettings], Any], *, timeout: float = 300) -> int:
    """Run one command against Elasticsearch and Redis with clients it owns; print the result."""
    settings = KabarSettings()
    es = create_client(settings).options(request_timeout=timeout)
    redis = Redis.from_url(settings.redis_url)
    try:
        result = action(es, redis, settings)
    finally:
        redis.close()
        es.close()
    print(json.dumps(result, indent=2))
    return 0


def _status(args: argparse.Namespace) -> int:
    return _with_es(lambda es, settings: pipeline_status(settings=settings, es=es))


def _snapshot_create(args: argparse.Namespace) -> int:
    return _with_es(lambda es, s: create_snapshot(es=es, prefix=s.prefix, name=args.name), timeout=300)


def _snapshot_restore(args: argparse.Namespace) -> int:
    return _with_es(lambda es, s: restore_snapshot(es=es, prefix=s.prefix, name=args.name), timeout=300)


def _state_rebuild(args: argparse.Namespace) -> int:
    # Scroll pages of a large index take longer than an ordinary request.
    return _with_stores(
        lambda es, redis, s: rebuild_state(es=es, redis=redis, names=IndexNames(s.prefix), prefix=s.prefix).as_dict(),
        timeout=120,
    )
