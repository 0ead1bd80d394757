"""Operator commands: worker health, pipeline status, snapshots (Elasticsearch, Redis, PostgreSQL), state rebuild."""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from celery import Celery
from elasticsearch import Elasticsearch
from redis import Redis
from sqlalchemy.engine import make_url

from services.index.indexing.state_rebuild import rebuild_state
from shared.batching import chunks
from shared.db import quoted_schema, schema_name
from shared.es import IndexNames, create_client
from shared.events import Operation
from shared.messaging import Queues, celery_config, queue_depths
from shared.models import LEGACY_DOC_STATUS
from shared.redisconn import redis_client
from shared.settings import KabarSettings

SNAPSHOT_REPOSITORY_SUFFIX = "fs-snapshots"
REDIS_SNAPSHOT_SUFFIX = "redis-snapshots"
REDIS_SNAPSHOT_FORMAT = 1
POSTGRES_SNAPSHOT_SUFFIX = "postgres-snapshots"
# Key families left out of Redis snapshots: rate-limit windows last a minute and a pending related-list
# marker only debounces a task that a restore does not bring back; restoring either would only mislead.
EPHEMERAL_KEY_FAMILIES = frozenset({"rate", "related"})


class OpsSettings(KabarSettings):
    """Operator settings on the shared base."""

    # Where Redis snapshot files go. Unset: Elasticsearch's own path.repo, when it is on this machine.
    snapshot_dir: Path | None = None


def worker_health(*, settings: KabarSettings, timeout: float = 5.0, host: str | None = None) -> list[str]:
    """Names of the workers that answered a broadcast ping (empty: none is alive); with `host`, only those of
    that host (node names are `<name>@<host>`, compose's `-n index@%h`)."""
    app = Celery(set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=settings.prefix))
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    names = [name for reply in replies for name in reply]
    return [name for name in names if host is None or name.rpartition("@")[2] == host]


def pipeline_status(*, settings: KabarSettings, es: Elasticsearch) -> dict[str, Any]:
    names = IndexNames(settings.prefix)
    counts = {op.status.value: 0 for op in Operation}
    buckets = es.search(index=names.articles, size=0, aggs={"s": {"terms": {"field": "status", "size": 10}}})
    for bucket in buckets["aggregations"]["s"]["buckets"]:
        status = str(LEGACY_DOC_STATUS.get(bucket["key"], bucket["key"]))
        counts[status] = counts.get(status, 0) + bucket["doc_count"]
    return {
        "elasticsearch": es.cluster.health()["status"],
        "articles": counts,
        "related_lists": es.count(index=names.related)["count"],
        "queues": queue_depths(broker_url=settings.broker_url, prefix=settings.prefix),
        "workers": worker_health(settings=settings, timeout=2),
    }


def snapshot_repository(prefix: str) -> str:
    return f"{prefix}-{SNAPSHOT_REPOSITORY_SUFFIX}"


def create_snapshot(
    *, es: Elasticsearch, redis: Redis, database_url: str, prefix: str, snapshot_dir: Path, name: str | None = None
) -> dict[str, Any]:
    """Snapshot the prefix's indices (with aliases), its Redis keys and its PostgreSQL schema under one name."""
    repo = snapshot_repository(prefix)
    es.snapshot.create_repository(name=repo, repository={"type": "fs", "settings": {"location": repo}})
    name = name or f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000}"
    es.snapshot.create(
        repository=repo, snapshot=name, indices=f"{prefix}-*", include_global_state=False, wait_for_completion=True
    )
    # Redis after Elasticsearch: ingest records a revision before a worker applies it, so the saved state
    # is never behind the saved documents (and a restore's rebuild repairs the rare opposite case).
    path = redis_snapshot_path(snapshot_dir=snapshot_dir, prefix=prefix, name=name)
    keys = dump_redis(redis=redis, prefix=prefix, path=path, snapshot=name)
    # Comments live only in PostgreSQL and refer to articles by uid: nothing to order against the others.
    pg_path = postgres_snapshot_path(snapshot_dir=snapshot_dir, prefix=prefix, name=name)
    dump_postgres(database_url=database_url, prefix=prefix, path=pg_path)
    return {"snapshot": name, "redis_keys": keys, "redis_file": str(path), "postgres_file": str(pg_path)}


def restore_snapshot(
    *, es: Elasticsearch, redis: Redis, database_url: str, prefix: str, snapshot_dir: Path, name: str | None = None
) -> dict[str, Any]:
    """Restore a snapshot (the latest by default): indices, Redis keys, PostgreSQL schema, then rebuild state."""
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
    path = redis_snapshot_path(snapshot_dir=snapshot_dir, prefix=prefix, name=name)
    # A snapshot taken before Redis was saved alongside has no file: the rebuild below still gives every
    # restored document its state.
    redis_counts = restore_redis(redis=redis, prefix=prefix, path=path) if path.exists() else None
    rebuilt = rebuild_state(es=es, redis=redis, names=IndexNames(prefix), prefix=prefix)
    pg_path = postgres_snapshot_path(snapshot_dir=snapshot_dir, prefix=prefix, name=name)
    # Snapshots from before comments have no dump: the schema is left as it is.
    postgres = restore_postgres(database_url=database_url, prefix=prefix, path=pg_path) if pg_path.exists() else None
    return {"snapshot": name, "redis": redis_counts, "state_rebuild": rebuilt.as_dict(), "postgres": postgres}


def resolve_snapshot_dir(*, es: Elasticsearch, configured: Path | None) -> Path:
    """The configured folder, else Elasticsearch's first path.repo when this machine can see it."""
    if configured is not None:
        return configured
    nodes = es.nodes.info(node_id="_local", metric="settings", filter_path="nodes.*.settings.path.repo")
    for node in nodes.get("nodes", {}).values():
        repos = node["settings"]["path"]["repo"]
        for repo in [repos] if isinstance(repos, str) else repos:
            if Path(repo).is_dir():
                return Path(repo)
    raise SystemExit("Elasticsearch's path.repo is not on this machine: set KABAR_SNAPSHOT_DIR for Redis snapshots")


def redis_snapshot_path(*, snapshot_dir: Path, prefix: str, name: str) -> Path:
    """Beside the Elasticsearch repository, never inside it: that folder's contents belong to Elasticsearch."""
    return snapshot_dir / f"{prefix}-{REDIS_SNAPSHOT_SUFFIX}" / f"{name}.jsonl.gz"


def postgres_snapshot_path(*, snapshot_dir: Path, prefix: str, name: str) -> Path:
    """Beside the Redis file, for the same reason."""
    return snapshot_dir / f"{prefix}-{POSTGRES_SNAPSHOT_SUFFIX}" / f"{name}.dump"


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """SQLAlchemy's URL as pg_dump takes it: the driver name dropped, the password in the environment."""
    url = make_url(database_url).set(drivername="postgresql")
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    return url.set(password=None).render_as_string(hide_password=False), env


def dump_postgres(*, database_url: str, prefix: str, path: Path) -> None:
    """The prefix's schema in pg_dump's custom format (compressed; pg_restore brings back any part of it)."""
    dsn, env = _libpq(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    subprocess.run(
        ["pg_dump", "--format=custom", f"--schema={schema_name(prefix)}", f"--file={partial}", f"--dbname={dsn}"],
        env=env,
        check=True,
        timeout=3600,
    )
    partial.replace(path)  # a dump cut short never poses as a snapshot


def restore_postgres(*, database_url: str, prefix: str, path: Path) -> dict[str, Any]:
    """Replace the prefix's schema with the dump's, in one transaction (all or nothing)."""
    dsn, env = _libpq(database_url)
    schema = schema_name(prefix)
    drop = f"DROP SCHEMA IF EXISTS {quoted_schema(prefix)} CASCADE"
    script = subprocess.run(
        ["pg_restore", "--file=-", str(path)], env=env, check=True, capture_output=True, timeout=3600
    )
    subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "--single-transaction", "--set=ON_ERROR_STOP=1", f"--dbname={dsn}"],
        input=drop.encode() + b";\n" + script.stdout,
        env=env,
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return {"schema": schema, "file": str(path)}


def _snapshot_keys(redis: Redis, prefix: str) -> Iterator[bytes]:
    """Kabar's keys under the prefix that a snapshot keeps (article state, API keys, idempotency answers)."""
    for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        if key.split(b":", 2)[1].decode(errors="replace") not in EPHEMERAL_KEY_FAMILIES:
            yield key


def dump_redis(*, redis: Redis, prefix: str, path: Path, snapshot: str, batch_size: int = 1000) -> int:
    """Write the prefix's keys as DUMP payloads with absolute expiry times; atomic (temp file, fsync, rename).

    Idempotency answers are kept with their expiry: they pair with the saved state, so after a restore a
    retried request answered before the snapshot replays its answer, and one answered after it (whose
    effect the restore undid) runs again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with tmp.open("wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3) as out:
                header = {"format": REDIS_SNAPSHOT_FORMAT, "prefix": prefix, "snapshot": snapshot}
                out.write(json.dumps(header).encode() + b"\n")
                for chunk in chunks(_snapshot_keys(redis, prefix), batch_size):
                    pipe = redis.pipeline(transaction=False)
                    for key in chunk:
                        pipe.dump(key)
                        pipe.pttl(key)
                    replies = pipe.execute()
                    now_ms = int(time.time() * 1000)
                    for key, payload, pttl in zip(chunk, replies[::2], replies[1::2], strict=True):
                        if payload is None:  # expired or deleted since the scan
                            continue
                        record = {
                            "k": base64.b64encode(key).decode(),
                            "e": now_ms + pttl if pttl > 0 else 0,
                            "v": base64.b64encode(payload).decode(),
                        }
                        out.write(json.dumps(record).encode() + b"\n")
                        count += 1
            raw.flush()
            os.fsync(raw.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return count


def restore_redis(*, redis: Redis, prefix: str, path: Path, batch_size: int = 1000) -> dict[str, int]:
    """Put the prefix's keys back as they were at the snapshot: saved keys replaced, later ones removed.

    Keys created after the snapshot go, as the documents written after it do; an API key revoked after
    the snapshot comes back and must be revoked again.
    """
    restored: set[bytes] = set()
    expired = 0
    with gzip.open(path, "rb") as lines:
        header = json.loads(next(lines))
        if header.get("format") != REDIS_SNAPSHOT_FORMAT or header.get("prefix") != prefix:
            raise SystemExit(f"{path} is not a Redis snapshot of prefix {prefix!r}")
        pipe = redis.pipeline(transaction=False)
        for line in lines:
            record = json.loads(line)
            if record["e"] and record["e"] <= int(time.time() * 1000):
                expired += 1
                continue
            key = base64.b64decode(record["k"])
            pipe.restore(key, record["e"], base64.b64decode(record["v"]), replace=True, absttl=bool(record["e"]))
            restored.add(key)
            if len(pipe) >= batch_size:
                pipe.execute()
        pipe.execute()
    stale = [key for key in _snapshot_keys(redis, prefix) if key not in restored]
    for chunk in chunks(stale, batch_size):
        redis.delete(*chunk)
    return {"restored": len(restored), "expired": expired, "removed": len(stale)}


def register(sub: argparse._SubParsersAction) -> None:
    health = sub.add_parser("worker-health", help="exit 0 when at least one index worker answers a ping")
    health.add_argument("--timeout", type=float, default=5.0)
    health.add_argument(
        "--fail-on-dead-letters", action="store_true", help="exit 2 when messages wait in the dead-letter queue"
    )
    health.add_argument(
        "--this-host",
        action="store_true",
        help="only a worker of this host counts: a container's health check with several worker containers, "
        "where any other worker would answer for a hung one",
    )
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
    settings = KabarSettings()
    host = socket.gethostname() if getattr(args, "this_host", False) else None
    workers = worker_health(settings=settings, timeout=args.timeout, host=host)
    # Poison messages do not stop the workers (time limits, delivery limit), they wait for an operator:
    # say how many, so a green check never hides them.
    try:
        dead: int | None = queue_depths(broker_url=settings.broker_url, prefix=settings.prefix).get(
            Queues(settings.prefix).dead_letter
        )
    except OSError:
        dead = None
    print(json.dumps({"workers": workers, "dead_letters": dead}))
    if not workers:
        return 1
    return 2 if args.fail_on_dead_letters and dead else 0


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


def _with_stores(action: Callable[[Elasticsearch, Redis, OpsSettings], Any], *, timeout: float = 300) -> int:
    """Run one command against Elasticsearch and Redis with clients it owns; print the result."""
    settings = OpsSettings()
    es = create_client(settings).options(request_timeout=timeout)
    redis = redis_client(settings)
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
    return _with_stores(
        lambda es, redis, s: create_snapshot(
            es=es,
            redis=redis,
            database_url=s.database_url.get_secret_value(),
            prefix=s.prefix,
            snapshot_dir=resolve_snapshot_dir(es=es, configured=s.snapshot_dir),
            name=args.name,
        )
    )


def _snapshot_restore(args: argparse.Namespace) -> int:
    return _with_stores(
        lambda es, redis, s: restore_snapshot(
            es=es,
            redis=redis,
            database_url=s.database_url.get_secret_value(),
            prefix=s.prefix,
            snapshot_dir=resolve_snapshot_dir(es=es, configured=s.snapshot_dir),
            name=args.name,
        )
    )


def _state_rebuild(args: argparse.Namespace) -> int:
    # Scroll pages of a large index take longer than an ordinary request.
    return _with_stores(
        lambda es, redis, s: rebuild_state(es=es, redis=redis, names=IndexNames(s.prefix), prefix=s.prefix).as_dict(),
        timeout=120,
    )
