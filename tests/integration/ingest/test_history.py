"""An article's revision history through the real pipeline: ingest API → RabbitMQ → worker → Redis → API.

v1, v2 (a new title), v3 (a correction) and a withdrawal give four entries, newest first, each saying what it
changed. A redelivered batch adds nothing (and restores an entry its first delivery died before recording),
an out-of-order stale event is never recorded, and another newsroom's key finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from celery import Celery
from redis import Redis

from harness.procs import Proc, wait_until
from services.index.config import IndexSettings
from shared.article import normalise, prepare
from shared.events import ArticleEvent, Operation
from shared.history import history_key
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config
from shared.models import ArticleIn, article_uid
from shared.state import revision_for

NEWSROOM = "channel9"  # the newsroom of the session's api_key (tests/conftest.py)
PUBLISHED_AT = "2026-11-26T09:00:00+07:00"


@pytest.fixture(scope="module")
def send(prefix: str, settings: IndexSettings) -> Iterator[Callable[[list[ArticleEvent]], None]]:
    """Send one indexing task by name, as ingest does: the way a redelivery reaches a worker again."""
    app = Celery("history-producer", set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))

    def deliver(events: list[ArticleEvent]) -> None:
        payload = [e.model_dump(mode="json") for e in events]
        app.send_task(TASK_INDEX_EVENTS, kwargs={"events": payload}, queue=Queues(prefix).index)

    yield deliver
    app.close()


def _history(ingest: httpx.Client, external_id: str) -> dict[str, Any]:
    resp = ingest.get(f"/v1/articles/{external_id}/history")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _recorded(ingest: httpx.Client, external_id: str, revision: int) -> list[dict[str, Any]]:
    """The history once the given revision is its newest entry."""

    def check() -> list[dict[str, Any]] | None:
        entries = _history(ingest, external_id)["entries"]
        return entries if entries and entries[0]["revision"] == revision else None

    return wait_until(check, timeout=30, what=f"revision {revision} of {external_id} in its history")


def _sentinel(external_id: str) -> ArticleEvent:
    """A fresh article's upsert: once its history exists, the batch it travelled in has been worked."""
    article = ArticleIn(external_id=external_id, title="Penanda urutan uji riwayat", body="<p>Penanda.</p>")
    payload = normalise(newsroom=NEWSROOM, article=article, version=1)
    return ArticleEvent(
        op=Operation.UPSERT,
        uid=payload.uid,
        newsroom=NEWSROOM,
        external_id=external_id,
        revision=revision_for(1, 1),
        version=1,
        article=prepare(payload),
    )


def _worked(redis: Redis, prefix: str, event: ArticleEvent) -> None:
    wait_until(lambda: redis.exists(history_key(prefix, event.uid)), timeout=30, what="the sentinel's history")


def test_history_lists_every_applied_revision_newest_first(
    ingest: httpx.Client,
    other: httpx.Client,
    worker: Proc,
    redis: Redis,
    prefix: str,
    send: Callable[[list[ArticleEvent]], None],
    new_article: Callable[..., dict[str, Any]],
) -> None:
    article = new_article(version=1, published_at=PUBLISHED_AT, tags=["banjir"])
    external_id = article["external_id"]

    first = ingest.post("/v1/articles", json=article, headers={"X-Request-ID": "req-history-1"})
    assert first.status_code == 202, first.text
    _recorded(ingest, external_id, first.json()["revision"])

    retitled = {**article, "version": 2, "title": "Banjir surut di sebagian besar wilayah Jakarta"}
    second = ingest.put(f"/v1/articles/{external_id}", json=retitled)
    assert second.status_code == 202, second.text
    _recorded(ingest, external_id, second.json()["revision"])

    correction = {
        "kind": "correction",
        "text": "Nama sungai semula tertulis Cisadane.",
        "at": "2026-11-26T14:05:00+07:00",
    }
    corrected = {**retitled, "version": 3, "corrections": [correction]}
    third = ingest.put(f"/v1/articles/{external_id}", json=corrected)
    assert third.status_code == 202, third.text
    _recorded(ingest, external_id, third.json()["revision"])

    withdrawn = ingest.post(f"/v1/articles/{external_id}/unpublish")
    assert withdrawn.status_code == 202, withdrawn.text
    withdraw_revision = withdrawn.json()["revision"]
    entries = _recorded(ingest, external_id, withdraw_revision)

    assert [e["op"] for e in entries] == ["withdraw", "upsert", "upsert", "upsert"]
    assert [e["version"] for e in entries] == [3, 3, 2, 1]
    assert [e["revision"] for e in entries] == [
        withdraw_revision,
        third.json()["revision"],
        second.json()["revision"],
        first.json()["revision"],
    ]
    assert [e["changed"] for e in entries] == [["status"], ["corrections"], ["title"], ["created"]]
    (added,) = entries[1]["corrections_added"]
    assert (added["kind"], added["text"]) == ("correction", correction["text"])
    assert datetime.fromisoformat(added["at"]) == datetime.fromisoformat(correction["at"])
    assert [len(e["corrections_added"]) for e in entries] == [0, 1, 0, 0]
    assert entries[-1]["request_id"] == "req-history-1"
    for entry in entries:
        assert datetime.fromisoformat(entry["applied_at"]) >= datetime.fromisoformat(entry["accepted_at"])

    # A redelivered batch adds nothing; one whose first delivery died before recording restores that entry.
    uid = article_uid(NEWSROOM, external_id)
    replay = ArticleEvent(
        op=Operation.WITHDRAW,
        uid=uid,
        newsroom=NEWSROOM,
        external_id=external_id,
        revision=withdraw_revision,
        version=3,
    )
    sentinel = _sentinel(f"{external_id}-s1")
    send([replay, sentinel])
    _worked(redis, prefix, sentinel)
    assert _history(ingest, external_id)["entries"] == entries

    redis.hdel(history_key(prefix, uid), str(withdraw_revision))
    sentinel = _sentinel(f"{external_id}-s2")
    send([replay, sentinel])
    _worked(redis, prefix, sentinel)
    restored = _history(ingest, external_id)["entries"]
    assert [(e["revision"], e["changed"]) for e in restored] == [(e["revision"], e["changed"]) for e in entries]

    # An out-of-order takedown (a revision below the one applied, never applied itself) is not recorded.
    stale = replay.model_copy(update={"revision": revision_for(2, 999), "event_id": "stale"})
    sentinel = _sentinel(f"{external_id}-s3")
    send([stale, sentinel])
    _worked(redis, prefix, sentinel)
    assert [e["revision"] for e in _history(ingest, external_id)["entries"]] == [e["revision"] for e in entries]

    # Another newsroom's key: the id means nothing there.
    foreign = other.get(f"/v1/articles/{external_id}/history")
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    assert foreign.json()["status"] == 404


def test_deleted_article_keeps_its_history(
    ingest: httpx.Client, worker: Proc, new_article: Callable[..., dict[str, Any]]
) -> None:
    article = new_article(published_at=PUBLISHED_AT)
    created = ingest.post("/v1/articles", json=article)
    assert created.status_code == 202, created.text
    _recorded(ingest, article["external_id"], created.json()["revision"])
    deleted = ingest.delete(f"/v1/articles/{article['external_id']}")
    assert deleted.status_code == 202, deleted.text
    entries = _recorded(ingest, article["external_id"], deleted.json()["revision"])
    assert [(e["op"], e["changed"]) for e in entries] == [("delete", ["status"]), ("upsert", ["created"])]


def test_unknown_article_is_a_problem(ingest: httpx.Client) -> None:
    resp = ingest.get("/v1/articles/tidak-pernah-ada/history")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["title"]


def test_history_is_in_the_openapi(ingest: httpx.Client) -> None:
    spec = ingest.get("/openapi.json")
    assert spec.status_code == 200
    operation = spec.json()["paths"]["/v1/articles/{external_id}/history"]["get"]
    assert "200" in operation["responses"] and "404" in operation["responses"]
