"""Article state survives Redis: `kabar state rebuild` brings it back from Elasticsearch (issue 11, defect 7).

Everything runs through the real ingest API, RabbitMQ, Celery workers, Elasticsearch and Redis.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from redis import Redis

from harness.procs import Proc, run_module, wait_until
from services.index.indexing.state_rebuild import rebuild_state
from shared.es import IndexNames
from shared.models import MAX_VERSION
from shared.state import StateStore

NEWSROOM = "channel9"  # the newsroom of the session's API key (tests/conftest.py)


def _article(external_id: str, title: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "title": title,
        "body": f"<p>{title}. Warga diminta tetap waspada.</p>",
        "section": "Metro",
        **fields,
    }


def _doc(es: Elasticsearch, names: IndexNames, uid: str) -> dict[str, Any] | None:
    resp = es.options(ignore_status=404).get(index=names.articles, id=uid)
    return resp["_source"] if resp.get("found") else None


def _applied(es: Elasticsearch, names: IndexNames, uid: str, revision: int) -> dict[str, Any]:
    """Wait until Elasticsearch holds this revision of the article; its document."""

    def done() -> dict[str, Any] | None:
        doc = _doc(es, names, uid)
        return doc if doc and doc["revision"] >= revision else None

    doc = wait_until(done, timeout=20, what=f"{uid} at revision {revision} in Elasticsearch")
    assert isinstance(doc, dict)
    assert doc["revision"] == revision, "a newer revision than the one just accepted"
    return doc


def _lose_article_state(redis: Redis, prefix: str) -> int:
    """The disaster: every article-state hash of this run is gone (API keys survive, as with a partial loss)."""
    keys = list(redis.scan_iter(match=f"{prefix}:article:*", count=1000))
    if keys:
        redis.delete(*keys)
    return len(keys)


def _kabar(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = run_module("services.cli", *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    # The CLI prints its JSON result after any log lines (it leaves logging unconfigured: stdout).
    return json.loads(done.stdout[done.stdout.index("{\n") :])  # type: ignore[no-any-return]


def test_after_losing_redis_rebuild_lets_updates_takedowns_and_versions_work(
    ingest: httpx.Client,
    publish: httpx.Client,
    worker: Proc,
    es: Elasticsearch,
    names: IndexNames,
    redis: Redis,
    prefix: str,
    stack_env: dict[str, str],
) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = {name: f"rebuild-{name}-{tag}" for name in ("explicit", "implicit", "withdrawn", "huge")}
    seen: dict[str, list[tuple[int, int]]] = {name: [] for name in ids}  # (version, revision) as accepted

    def send(name: str, title: str | None = None, **fields: Any) -> dict[str, Any]:
        resp = ingest.post("/v1/articles", json=_article(ids[name], title or f"Banjir {name} {tag}", **fields))
        assert resp.status_code == 202, resp.text
        body = resp.json()
        seen[name].append((body["version"], body["revision"]))
        return body  # type: ignore[no-any-return]

    def take_down(name: str, how: str) -> dict[str, Any]:
        path = f"/v1/articles/{ids[name]}"
        resp = ingest.post(f"{path}/unpublish") if how == "unpublish" else ingest.delete(path)
        assert resp.status_code == 202, resp.text
        body = resp.json()
        seen[name].append((body["version"], body["revision"]))
        return body  # type: ignore[no-any-return]

    explicit = send("explicit", version=3)
    send("implicit")
    implicit = send("implicit", title=f"Banjir implicit kedua {tag}")
    assert implicit["version"] == 2
    send("withdrawn", version=1)
    withdrawn = take_down("withdrawn", "unpublish")
    # Revisions of a version this high pass 2**53: exact only if never handled as a double.
    huge = send("huge", version=MAX_VERSION - 1)
    assert huge["revision"] > 2**53
    for name, body in {"explicit": explicit, "implicit": implicit, "withdrawn": withdrawn, "huge": huge}.items():
        _applied(es, names, body["uid"], body["revision"])

    assert _lose_article_state(redis, prefix) >= 4
    # The defect: ingest no longer knows live stories.
    assert ingest.post(f"/v1/articles/{ids['explicit']}/unpublish").status_code == 404
    assert ingest.get(f"/v1/articles/{ids['implicit']}").status_code == 404

    rebuilt = _kabar(stack_env, "state", "rebuild")
    assert rebuilt["scanned"] >= 4 and rebuilt["written"] >= 4, rebuilt

    states = {name: ingest.get(f"/v1/articles/{external_id}").json() for name, external_id in ids.items()}
    assert (states["explicit"]["version"], states["explicit"]["status"]) == (3, "published")
    assert (states["implicit"]["version"], states["implicit"]["status"]) == (2, "published")
    assert (states["withdrawn"]["version"], states["withdrawn"]["status"]) == (1, "withdrawn")
    assert states["huge"]["revision"] == huge["revision"]
    assert states["implicit"]["title"] == f"Banjir implicit kedua {tag}"

    # An update without a version continues from the old one and reaches readers.
    update = send("implicit", title=f"Banjir implicit ketiga {tag}")
    assert update["version"] == 3
    doc = _applied(es, names, update["uid"], update["revision"])
    assert (doc["version"], doc["title"]) == (3, f"Banjir implicit ketiga {tag}")

    # Once the newsroom reads "published" at this revision, readers get it (no refresh interval later).
    def reported() -> bool:
        state = ingest.get(f"/v1/articles/{ids['implicit']}").json()
        return bool(state["status"] == "published" and state["revision"] == update["revision"])

    wait_until(reported, timeout=20, what="the update reported indexed")
    page = publish.get(doc["path"])
    assert page.status_code == 200 and f"Banjir implicit ketiga {tag}" in page.text

    # A stale explicit version is refused; unpublish and delete reach Elasticsearch.
    stale = ingest.post("/v1/articles", json=_article(ids["explicit"], "Versi lama", version=2))
    assert stale.status_code == 409 and stale.json()["stored_version"] == 3
    unpublished = take_down("explicit", "unpublish")
    assert _applied(es, names, unpublished["uid"], unpublished["revision"])["status"] == "withdrawn"
    deleted = take_down("explicit", "delete")
    assert _applied(es, names, deleted["uid"], deleted["revision"])["status"] == "deleted"

    # The withdrawn story is still withdrawn (a repeat changes nothing) and can come back with a new version.
    assert ingest.post(f"/v1/articles/{ids['withdrawn']}/unpublish").status_code == 200
    back = send("withdrawn", version=2)
    assert _applied(es, names, back["uid"], back["revision"])["status"] == "published"

    # At revisions beyond 2**53 too: the stale version is refused and the newer one is applied.
    stale_huge = ingest.post("/v1/articles", json=_article(ids["huge"], "Versi lama", version=MAX_VERSION - 2))
    assert stale_huge.status_code == 409
    newest = send("huge", version=MAX_VERSION)
    assert _applied(es, names, newest["uid"], newest["revision"])["version"] == MAX_VERSION

    for name, history in seen.items():
        versions = [v for v, _ in history]
        revisions = [r for _, r in history]
        assert versions == sorted(versions), (name, history)
        assert revisions == sorted(set(revisions)), (name, history)  # strictly increasing


def test_rebuild_never_moves_state_backwards(
    ingest: httpx.Client, worker: Proc, es: Elasticsearch, names: IndexNames, redis: Redis, prefix: str
) -> None:
    external_id = f"rebuild-newer-{uuid.uuid4().hex[:8]}"
    first = ingest.post("/v1/articles", json=_article(external_id, "Banjir pertama", version=1)).json()
    _applied(es, names, first["uid"], first["revision"])
    store = StateStore(redis, prefix)
    # The worker records the revision as applied just after writing it to Elasticsearch.
    wait_until(lambda: store.get(first["uid"]).status == "published", timeout=10, what="state indexed")
    before = store.get(first["uid"]).fields
    assert before.get("content_hash")

    # Redis was not lost for this article: a rebuild leaves it exactly as it was (content hash included).
    result = rebuild_state(es=es, redis=redis, names=names, prefix=prefix)
    assert result.kept >= 1
    assert store.get(first["uid"]).fields == before

    # Ingest accepted version 2 and recorded it, but its message is still queued: Redis is ahead of
    # Elasticsearch and stays ahead.
    revision = store.reserve_revision(first["uid"], 2)
    assert store.commit(first["uid"], revision, op="upsert", version=2, title="Banjir kedua")
    rebuild_state(es=es, redis=redis, names=names, prefix=prefix)
    after = store.get(first["uid"])
    assert (after.revision, after.version, after.fields["title"]) == (revision, 2, "Banjir kedua")
    assert store.reserve_revision(first["uid"], 2) > revision
