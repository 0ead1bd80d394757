"""Operations: health, readiness, metrics, the kabar CLI, snapshot and restore — on the real services."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from harness.procs import Proc, operator_url, run_module, wait_until
from services import ops
from shared.comments.tables import Comment, Commenter
from shared.db import make_engine
from shared.es import IndexNames, delete_matching_indices
from shared.settings import KabarSettings
from tests.conftest import wait_for_search


def kabar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("services.cli", *args, env=env)


def test_health_and_readiness(ingest_url: str, publish_url: str) -> None:
    for url in (ingest_url, publish_url):
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        ready = httpx.get(f"{operator_url(url)}/readyz")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"].values()) == {"ok"}


def test_metrics_count_requests_by_route(ingest: httpx.Client, publish_url: str, seed_article: dict[str, Any]) -> None:
    ingest.post("/v1/articles", json={**seed_article, "external_id": "metrics-probe"})
    text = ingest.get("/metrics").text
    assert 'kabar_http_request_duration_seconds_count{method="POST",route="/v1/articles",service="ingest"' in text
    httpx.get(f"{publish_url}/api/v1/search", params={"q": "rusia"})
    text = httpx.get(f"{operator_url(publish_url)}/metrics").text
    assert 'route="/api/v1/search",service="publish"' in text


def test_metrics_count_ingest_outcomes(ingest: httpx.Client, seed_article: dict[str, Any]) -> None:
    def counts() -> dict[str, float]:
        out: dict[str, float] = {}
        for line in ingest.get("/metrics").text.splitlines():
            if line.startswith("kabar_ingest_articles_total{"):
                out[line.split('result="')[1].split('"')[0]] = float(line.split()[-1])
        return out

    before = counts()
    article = {**seed_article, "external_id": "metrics-outcomes", "version": 1}
    assert ingest.post("/v1/articles", json=article).status_code == 202
    assert ingest.post("/v1/articles", json=article).status_code == 200  # replay: unchanged
    assert ingest.post("/v1/articles", json={**article, "title": ""}).status_code == 422
    after = counts()
    for kind in ("accepted", "unchanged", "rejected"):
        assert after.get(kind, 0) - before.get(kind, 0) == 1, (kind, before, after)


def test_newsroom_key_cli_creates_and_revokes(stack_env: dict[str, str], ingest_url: str) -> None:
    created = kabar(stack_env, "newsroom", "create", "cli-newsroom")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    headers = {"X-API-Key": key}
    assert httpx.get(f"{ingest_url}/v1/articles/nothing-here", headers=headers).status_code == 404
    revoked = kabar(stack_env, "newsroom", "revoke", key)
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{ingest_url}/v1/articles/nothing-here", headers=headers).status_code == 401


def test_worker_health_and_status(stack_env: dict[str, str], worker: Proc) -> None:
    health = kabar(stack_env, "worker-health", "--timeout", "5")
    assert health.returncode == 0, health.stdout + health.stderr
    status = kabar(stack_env, "status")
    assert status.returncode == 0, status.stderr
    assert '"queues"' in status.stdout


def _comment(engine: Engine, article_uid: str, body: str) -> None:
    """A comment row straight into the prefix's schema (comments have no API yet)."""
    with Session(engine) as session, session.begin():
        commenter = Commenter(newsroom="tempo", email_hash=hashlib.sha256(body.encode()).digest())
        session.add(commenter)
        session.flush()
        session.add(
            Comment(
                submission_id=str(uuid.uuid4()),
                newsroom="tempo",
                article_uid=article_uid,
                commenter_id=commenter.id,
                author_name="Pembaca",
                body=body,
                body_hash=hashlib.sha256(body.encode()).digest(),
                address_hash=b"\x00" * 32,
                status="visible",
                status_by="rule:post-moderation",
            )
        )


def test_snapshot_and_restore(
    es: Elasticsearch,
    names: IndexNames,
    prefix: str,
    redis: Redis,
    ingest: httpx.Client,
    publish: httpx.Client,
    worker: Proc,
    seed_article: dict[str, Any],
) -> None:
    uid = ingest.post("/v1/articles", json={**seed_article, "external_id": "snapshot-probe"}).json()["uid"]
    wait_for_search(publish, "pertimbangan", uid)
    before = wait_until(
        lambda: (state := ingest.get("/v1/articles/snapshot-probe").json())["status"] == "published" and state,
        timeout=20,
        what="indexed",
    )
    assert isinstance(before, dict)
    snapshot_dir = ops.resolve_snapshot_dir(es=es, configured=None)
    database_url = KabarSettings().database_url.get_secret_value()
    engine = make_engine(KabarSettings(prefix=prefix), pool_size=1)
    _comment(engine, uid, "sebelum")
    created = ops.create_snapshot(
        es=es, redis=redis, database_url=database_url, prefix=prefix, snapshot_dir=snapshot_dir
    )
    assert created["redis_keys"] >= 3  # the article's state, the API key and its newsroom's key set
    assert Path(created["redis_file"]).is_file()
    assert Path(created["postgres_file"]).is_file()
    _comment(engine, uid, "sesudah")
    # Written after the snapshot: the restore takes it away, in Elasticsearch and in Redis alike.
    later = ingest.post("/v1/articles", json={**seed_article, "external_id": "after-snapshot"})
    assert later.status_code == 202
    wait_until(
        lambda: ingest.get("/v1/articles/after-snapshot").json()["status"] == "published", timeout=20, what="indexed"
    )
    try:
        # Disaster: the articles index is gone, and so is every key of the prefix in Redis (API keys too).
        assert delete_matching_indices(es, f"{prefix}-articles-*")
        assert not es.indices.exists_alias(name=names.articles)
        redis.delete(*redis.scan_iter(match=f"{prefix}:*", count=1000))
        assert ingest.get("/v1/articles/snapshot-probe").status_code == 401
        restored = ops.restore_snapshot(
            es=es, redis=redis, database_url=database_url, prefix=prefix, snapshot_dir=snapshot_dir
        )
        # Comments come back as they were: the one written after the snapshot is gone.
        with engine.connect() as conn:
            assert conn.execute(select(Comment.body).where(Comment.article_uid == uid)).scalars().all() == ["sebelum"]
        assert restored["snapshot"] == created["snapshot"]
        assert restored["redis"]["restored"] == created["redis_keys"]
        assert es.get(index=names.articles, id=uid)["_source"]["uid"] == uid
        wait_for_search(publish, "pertimbangan", uid)
        after = ingest.get("/v1/articles/snapshot-probe").json()
        assert {k: after[k] for k in ("version", "revision", "status")} == {
            k: before[k] for k in ("version", "revision", "status")
        }
        assert ingest.get("/v1/articles/after-snapshot").status_code == 404
        # And ingest carries on from the restored state: the next implicit version follows the old one.
        update = ingest.post("/v1/articles", json={**seed_article, "external_id": "snapshot-probe", "title": "Baru"})
        assert update.status_code == 202 and update.json()["version"] == before["version"] + 1
    finally:
        engine.dispose()
        shutil.rmtree(Path(created["redis_file"]).parent, ignore_errors=True)
        shutil.rmtree(Path(created["postgres_file"]).parent, ignore_errors=True)


def test_queue_depths_lists_every_queue(prefix: str, worker: Proc) -> None:
    depths = ops.queue_depths(broker_url=KabarSettings().broker_url, prefix=prefix)
    queues = ("index", "related", "notify", "comments", "dead", "dead-notices")
    assert set(depths) == {f"{prefix}.{q}" for q in queues}
    assert all(isinstance(v, int) for v in depths.values())


def test_worker_metrics_show_task_durations_lag_and_queue_depth(
    stack_env: dict[str, str], ingest: httpx.Client, publish: httpx.Client, worker: Proc, seed_article: dict[str, Any]
) -> None:
    uid = ingest.post("/v1/articles", json={**seed_article, "external_id": "worker-metrics-probe"}).json()["uid"]
    wait_for_search(publish, "pertimbangan", uid)
    url = f"http://127.0.0.1:{stack_env['KABAR_WORKER_METRICS_PORT']}/metrics"

    def scraped() -> str | None:
        text = httpx.get(url, timeout=5).text
        return text if "kabar_ingest_to_indexed_seconds_count" in text else None

    text = wait_until(scraped, timeout=20, what="worker metrics")
    assert 'kabar_task_duration_seconds_count{state="SUCCESS",task="kabar.index.apply_events"}' in text
    assert "kabar_queue_depth{" in text
    lag_count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("kabar_ingest_to_indexed_seconds_count")
    )
    assert lag_count >= 1


def test_logs_correlate_request_task_and_article_across_services(
    ingest: httpx.Client, publish: httpx.Client, worker: Proc, seed_article: dict[str, Any]
) -> None:
    resp = ingest.post(
        "/v1/articles", json={**seed_article, "external_id": "log-correlation"}, headers={"X-Request-ID": "corr-4242"}
    )
    assert resp.headers["X-Request-ID"] == "corr-4242"
    uid = resp.json()["uid"]
    wait_for_search(publish, "pertimbangan", uid)

    def correlated() -> dict[str, Any] | None:
        for line in worker.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and "corr-4242" in line:
                entry = json.loads(line)
                # Other lines of the task (Celery's own) carry the ids too; the indexer's is the one we want.
                if entry.get("event") == "articles.applied" and entry.get("article_id") == uid:
                    return entry
        return None

    entry = wait_until(correlated, timeout=10, what="the indexer's log line with the request and article ids")
    assert entry["task_id"]  # type: ignore[index]
