"""The moderation API on the real stack: ingest (uvicorn), PostgreSQL, Redis, RabbitMQ and, for the end-to-end
count, the comment worker. Comments are inserted straight into PostgreSQL (the reader form is not the subject).

Two newsrooms with keys of their own: B can never list, approve, ban or erase A's comments.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from kombu import Connection
from redis import Redis
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings
from shared.comments.keys import keyed_hash
from shared.comments.policy import thread_policy
from shared.comments.tables import (
    Comment,
    Commenter,
    CommentPolicy,
    CommentReport,
    Mode,
    ModerationLog,
    Moderator,
    Status,
)
from shared.es import IndexNames
from shared.messaging import TASK_COMMENT_CHANGED, Queues
from shared.settings import KabarSettings

HASH_KEY = KabarSettings().comment_hash_key


@dataclass(frozen=True)
class Room:
    name: str
    key: str


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def email_hash(email: str) -> bytes:
    return bytes.fromhex(keyed_hash(HASH_KEY, "email", email))


def add_comment(
    engine: Engine,
    *,
    newsroom: str,
    article_uid: str | None = None,
    status: Status = Status.PENDING,
    body: str = "Komentar pembaca.",
    email: str | None = None,
    reports: tuple[str, ...] = (),
    created_at: float | None = None,
) -> Comment:
    """A stored comment as the moderation worker would leave it (and its reports)."""
    email = email or f"{uuid.uuid4().hex[:8]}@contoh.id"
    with Session(engine, expire_on_commit=False) as session, session.begin():
        commenter = session.scalar(
            select(Commenter).where(Commenter.newsroom == newsroom, Commenter.email_hash == email_hash(email))
        )
        if commenter is None:
            commenter = Commenter(newsroom=newsroom, email_hash=email_hash(email))
            session.add(commenter)
            session.flush()
        comment = Comment(
            submission_id=str(uuid.uuid4()),
            newsroom=newsroom,
            article_uid=article_uid or f"art-{uuid.uuid4().hex[:12]}",
            commenter_id=commenter.id,
            author_name="Pembaca",
            body=body,
            body_hash=_digest(body + uuid.uuid4().hex),
            address_hash=_digest("203.0.113.7"),
            status=status,
            status_by="rule:first-comment" if status == Status.PENDING else "rule:post-moderation",
            report_count=len(reports),
        )
        if created_at is not None:
            comment.created_at = datetime.fromtimestamp(created_at, UTC)
        session.add(comment)
        session.flush()
        for n, reason in enumerate(reports):
            session.add(CommentReport(comment_id=comment.id, reason=reason, reporter_hash=_digest(f"r{n}")))
    return comment


def fetch(engine: Engine, comment_id: int) -> Comment | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Comment, comment_id)


def log_rows(engine: Engine, newsroom: str, **where: Any) -> list[ModerationLog]:
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(ModerationLog).where(ModerationLog.newsroom == newsroom)
        for field, value in where.items():
            stmt = stmt.where(getattr(ModerationLog, field) == value)
        return list(session.scalars(stmt.order_by(ModerationLog.id)))


def _wipe(engine: Engine, newsrooms: list[str]) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(Commenter).where(Commenter.newsroom.in_(newsrooms)))
        session.execute(delete(ModerationLog).where(ModerationLog.newsroom.in_(newsrooms)))
        session.execute(delete(CommentPolicy).where(CommentPolicy.newsroom.in_(newsrooms)))
        session.execute(delete(Moderator).where(Moderator.newsroom.in_(newsrooms)))


@pytest.fixture(scope="module")
def rooms(redis: Redis, prefix: str, db: Engine) -> Iterator[tuple[Room, Room]]:
    names = [f"moda-{uuid.uuid4().hex[:6]}", f"modb-{uuid.uuid4().hex[:6]}"]
    a, b = (Room(name, create_key(redis=redis, prefix=prefix, newsroom=name)) for name in names)
    yield a, b
    _wipe(db, names)


@pytest.fixture
def api_a(ingest_url: str, rooms: tuple[Room, Room]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_url, headers={"X-API-Key": rooms[0].key}, timeout=30) as client:
        yield client


@pytest.fixture
def api_b(ingest_url: str, rooms: tuple[Room, Room]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_url, headers={"X-API-Key": rooms[1].key}, timeout=30) as client:
        yield client


def _consumers(broker: Connection, queue: str) -> int:
    with broker.channel() as channel:
        return int(channel.queue_declare(queue, passive=True).consumer_count)


def changed_threads(broker: Connection, prefix: str, es: Elasticsearch, uid: str, *, shown: int) -> None:
    """Wait until TASK_COMMENT_CHANGED for `uid` is observed.

    With no worker on the comments queue, the message is read off the real queue; with one (the `worker`
    fixture ran earlier in the session), its effect is: the thread's count in Elasticsearch equals `shown`.
    """
    queue = Queues(prefix).comments
    deadline = time.monotonic() + 20
    if _consumers(broker, queue) == 0:
        seen: list[list[str]] = []
        with broker.channel() as channel:
            while time.monotonic() < deadline:
                message = channel.basic_get(queue, no_ack=True)
                if message is None:
                    time.sleep(0.1)
                    continue
                headers = message.headers or {}
                if headers.get("task") != TASK_COMMENT_CHANGED:
                    continue
                kwargs = json.loads(message.body)[1]
                assert kwargs["schema_version"] == 1
                seen.append(kwargs["article_uids"])
                if uid in kwargs["article_uids"]:
                    return
        raise AssertionError(f"no {TASK_COMMENT_CHANGED} for {uid} (saw {seen})")
    index = IndexNames(prefix).comment_counts
    count = None
    while time.monotonic() < deadline:
        doc = es.options(ignore_status=404).get(index=index, id=uid)
        count = doc["_source"]["count"] if doc.get("found") else 0
        if count == shown:
            return
        time.sleep(0.2)
    raise AssertionError(f"thread {uid} counted {count}, expected {shown}")


def test_without_a_key_nothing_is_listed(ingest_url: str) -> None:
    answer = httpx.get(f"{ingest_url}/v1/comments", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_queues_list_one_newsroom_s_comments_by_status_without_hashes(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, b = rooms
    base = time.time() - 3600
    pending = [add_comment(db, newsroom=a.name, created_at=base + n) for n in range(3)]
    withheld = add_comment(db, newsroom=a.name, status=Status.WITHHELD)
    once = add_comment(db, newsroom=a.name, status=Status.VISIBLE, reports=("spam",))
    twice = add_comment(db, newsroom=a.name, status=Status.APPROVED, reports=("abusive", "abusive", "spam"))
    rejected = add_comment(db, newsroom=a.name, status=Status.REJECTED)
    foreign = add_comment(db, newsroom=b.name)

    first = api_a.get("/v1/comments", params={"queue": "pending", "limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    mine = [i["id"] for i in page["items"]]
    assert mine == [pending[0].id, pending[1].id]  # oldest first
    rest = api_a.get("/v1/comments", params={"queue": "pending", "limit": 2, "cursor": page["next_cursor"]}).json()
    ids = mine + [i["id"] for i in rest["items"]]
    while rest["next_cursor"]:
        rest = api_a.get("/v1/comments", params={"queue": "pending", "cursor": rest["next_cursor"]}).json()
        ids += [i["id"] for i in rest["items"]]
    assert pending[2].id in ids and foreign.id not in ids and withheld.id not in ids
    item = page["items"][0]
    assert set(item) == {
        "id",
        "article_uid",
        "parent_id",
        "commenter_id",
        "commenter_banned",
        "author_name",
        "body",
        "status",
        "status_by",
        "status_at",
        "report_count",
        "reasons",
        "created_at",
    }
    assert "hash" not in first.text

    assert [i["id"] for i in api_a.get("/v1/comments", params={"queue": "withheld"}).json()["items"]] == [withheld.id]
    reported = api_a.get("/v1/comments", params={"queue": "reported"}).json()["items"]
    assert [i["id"] for i in reported] == [twice.id, once.id]  # most reported first
    assert reported[0]["reasons"] == {"abusive": 2, "spam": 1}
    assert rejected.id in [i["id"] for i in api_a.get("/v1/comments", params={"queue": "rejected"}).json()["items"]]
    everything = [i["id"] for i in api_a.get("/v1/comments", params={"queue": "all", "limit": 200}).json()["items"]]
    assert foreign.id not in everything and twice.id in everything

    theirs = [i["id"] for i in api_b.get("/v1/comments", params={"queue": "all", "limit": 200}).json()["items"]]
    assert theirs == [foreign.id]
    bad = api_a.get("/v1/comments", params={"queue": "pending", "cursor": "bm9wZQ"})
    assert bad.status_code == 422
    assert api_a.get("/v1/comments", params={"queue": "spam"}).status_code == 422


def test_approve_and_reject_one_comment_with_an_audit_row(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client
) -> None:
    a, _ = rooms
    comment = add_comment(db, newsroom=a.name)
    answer = api_a.post(f"/v1/comments/{comment.id}/approve", json={"reason": "sopan"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": comment.id, "result": "approved", "status": "approved"}
    stored = fetch(db, comment.id)
    assert stored is not None and stored.status == Status.APPROVED and stored.status_by == f"api:{a.name}"
    with Session(db) as session:
        assert session.get(Commenter, comment.commenter_id).approved_count == 1  # type: ignore[union-attr]

    again = api_a.post(f"/v1/comments/{comment.id}/approve")
    assert again.json()["result"] == "unchanged"
    with Session(db) as session:
        assert session.get(Commenter, comment.commenter_id).approved_count == 1  # type: ignore[union-attr]

    assert api_a.post(f"/v1/comments/{comment.id}/reject", json={"reason": "fitnah"}).json()["result"] == "rejected"
    rows = log_rows(db, a.name, comment_id=comment.id)
    assert [(r.action, r.actor, r.reason, r.from_status, r.to_status) for r in rows] == [
        ("approve", f"api:{a.name}", "sopan", "pending", "approved"),
        ("reject", f"api:{a.name}", "fitnah", "approved", "rejected"),
    ]
    assert all(r.commenter_id == comment.commenter_id and r.at is not None for r in rows)
    missing = api_a.post("/v1/comments/999999999/approve")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_another_newsroom_s_comment_is_not_found_and_untouched(
    db: Engine, rooms: tuple[Room, Room], api_b: httpx.Client
) -> None:
    a, b = rooms
    comment = add_comment(db, newsroom=a.name)
    for action in ("approve", "reject"):
        answer = api_b.post(f"/v1/comments/{comment.id}/{action}")
        assert answer.status_code == 404, answer.text
        assert answer.json()["type"].endswith("/not-found")
    stored = fetch(db, comment.id)
    assert stored is not None and stored.status == Status.PENDING
    assert log_rows(db, b.name, comment_id=comment.id) == [] == log_rows(db, a.name, comment_id=comment.id)


def test_approving_a_reported_comment_handles_its_reports(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client
) -> None:
    a, _ = rooms
    comment = add_comment(db, newsroom=a.name, status=Status.VISIBLE, reports=("spam", "other"))
    assert api_a.post(f"/v1/comments/{comment.id}/approve").json()["result"] == "approved"
    stored = fetch(db, comment.id)
    assert stored is not None and stored.report_count == 0 and stored.status == Status.APPROVED
    reported = api_a.get("/v1/comments", params={"queue": "reported", "limit": 200}).json()["items"]
    assert comment.id not in [i["id"] for i in reported]


def test_bulk_decisions_skip_ids_of_other_newsrooms(db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client) -> None:
    a, b = rooms
    mine = [add_comment(db, newsroom=a.name) for _ in range(3)]
    theirs = add_comment(db, newsroom=b.name)
    ids = [mine[0].id, theirs.id, mine[1].id, 999_999_999, mine[2].id]
    answer = api_a.post("/v1/comments/moderate", json={"action": "reject", "ids": ids, "reason": "spam massal"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(i["id"], i["result"]) for i in body["items"]] == [
        (mine[0].id, "rejected"),
        (theirs.id, "not_found"),
        (mine[1].id, "rejected"),
        (999_999_999, "not_found"),
        (mine[2].id, "rejected"),
    ]
    assert (body["changed"], body["unchanged"], body["not_found"]) == (3, 0, 2)
    other = fetch(db, theirs.id)
    assert other is not None and other.status == Status.PENDING
    assert log_rows(db, b.name, comment_id=theirs.id) == []
    assert len(log_rows(db, a.name, action="reject", reason="spam massal")) == 3

    approved = api_a.post("/v1/comments/moderate", json={"action": "approve", "ids": [mine[0].id, mine[0].id]})
    assert [i["result"] for i in approved.json()["items"]] == ["approved", "approved"]
    too_many = api_a.post("/v1/comments/moderate", json={"action": "approve", "ids": list(range(1, 502))})
    assert too_many.status_code == 422
    assert api_a.post("/v1/comments/moderate", json={"action": "delete", "ids": [1]}).status_code == 422
    # Refused at the door with a pointer, never a database error: ids past bigint, NUL in a reason.
    assert api_a.post("/v1/comments/moderate", json={"action": "approve", "ids": [2**63]}).status_code == 422
    nul = api_a.post("/v1/comments/moderate", json={"action": "approve", "ids": [mine[0].id], "reason": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["errors"][0]["pointer"] == "/reason"


def test_ban_rejects_waiting_comments_keeps_shown_ones_unless_asked(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, _ = rooms
    email = f"{uuid.uuid4().hex[:8]}@contoh.id"
    waiting = add_comment(db, newsroom=a.name, email=email)
    held = add_comment(db, newsroom=a.name, email=email, status=Status.WITHHELD)
    shown = add_comment(db, newsroom=a.name, email=email, status=Status.VISIBLE)
    commenter_id = waiting.commenter_id

    assert api_b.post(f"/v1/commenters/{commenter_id}/ban").status_code == 404
    with Session(db) as session:
        assert session.get(Commenter, commenter_id).banned_at is None  # type: ignore[union-attr]

    answer = api_a.post(f"/v1/commenters/{commenter_id}/ban", json={"reason": "akun spam"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == 2 and answer.json()["banned_at"]
    assert [fetch(db, c.id).status for c in (waiting, held, shown)] == ["rejected", "rejected", "visible"]  # type: ignore[union-attr]
    listed = api_a.get("/v1/comments", params={"queue": "all", "limit": 200}).json()["items"]
    assert next(i for i in listed if i["id"] == shown.id)["commenter_banned"] is True

    again = api_a.post(f"/v1/commenters/{commenter_id}/ban", json={"reject_shown": True})
    assert again.json()["rejected"] == 1
    assert fetch(db, shown.id).status == Status.REJECTED  # type: ignore[union-attr]
    assert len(log_rows(db, a.name, commenter_id=commenter_id, action="ban")) == 1  # banned once

    assert api_b.delete(f"/v1/commenters/{commenter_id}/ban").status_code == 404
    lifted = api_a.delete(f"/v1/commenters/{commenter_id}/ban")
    assert lifted.status_code == 200 and lifted.json()["banned_at"] is None
    with Session(db) as session:
        assert session.get(Commenter, commenter_id).banned_at is None  # type: ignore[union-attr]
    actions = [r.action for r in log_rows(db, a.name, commenter_id=commenter_id)]
    assert actions.count("reject") == 3 and actions[0] == "ban" and actions[-1] == "unban"


def _erased(db: Engine, commenter_id: int, comment_ids: list[int]) -> bool:
    with Session(db) as session:
        if session.get(Commenter, commenter_id) is not None:
            return False
        left = session.scalar(select(func.count()).select_from(Comment).where(Comment.id.in_(comment_ids)))
        reports = session.scalar(
            select(func.count()).select_from(CommentReport).where(CommentReport.comment_id.in_(comment_ids))
        )
        return left == 0 and reports == 0


def test_erasing_a_commenter_by_id_removes_them_and_keeps_the_log_with_ids(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, _ = rooms
    email = f"{uuid.uuid4().hex[:8]}@contoh.id"
    first = add_comment(db, newsroom=a.name, email=email, body="Komentar pribadi saya", reports=("spam",))
    second = add_comment(db, newsroom=a.name, email=email, status=Status.VISIBLE)
    commenter_id = first.commenter_id
    api_a.post(f"/v1/comments/{first.id}/reject", json={"reason": "spam"})

    assert api_b.delete(f"/v1/commenters/{commenter_id}").status_code == 404
    assert not _erased(db, commenter_id, [first.id, second.id])

    answer = api_a.delete(f"/v1/commenters/{commenter_id}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"erased": True, "commenter_id": commenter_id, "comments": 2}
    assert _erased(db, commenter_id, [first.id, second.id])
    rows = log_rows(db, a.name, commenter_id=commenter_id)
    assert [r.action for r in rows] == ["reject", "erase"]
    assert rows[0].comment_id == first.id  # the log keeps ids, and nothing else of theirs
    for row in rows:
        assert "pribadi" not in f"{row.reason} {row.actor}" and email not in f"{row.reason} {row.actor}"
    assert api_a.delete(f"/v1/commenters/{commenter_id}").json()["erased"] is True  # a retry answers the same
    assert api_a.delete("/v1/commenters/999999999").status_code == 404


def test_erasing_a_commenter_by_email(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, _ = rooms
    email = f"Pembaca.{uuid.uuid4().hex[:8]}@Contoh.id"
    comment = add_comment(db, newsroom=a.name, email=email)

    other = api_b.post("/v1/commenters/erase", json={"email": email})
    assert other.status_code == 200 and other.json()["erased"] is False
    assert fetch(db, comment.id) is not None

    answer = api_a.post("/v1/commenters/erase", json={"email": f"  {email.lower()} ", "reason": "permintaan pembaca"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"erased": True, "commenter_id": comment.commenter_id, "comments": 1}
    assert _erased(db, comment.commenter_id, [comment.id])
    (row,) = log_rows(db, a.name, commenter_id=comment.commenter_id)
    assert (row.action, row.reason, row.actor) == ("erase", "permintaan pembaca", f"api:{a.name}")
    assert api_a.post("/v1/commenters/erase", json={"email": email}).json()["erased"] is False


def test_policies_are_stored_per_scope_and_newsroom(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, b = rooms
    empty = api_a.get("/v1/comment-policies/newsroom")
    assert empty.status_code == 200, empty.text
    assert empty.json()["mode"] is None and empty.json()["updated_at"] is None

    body = {"mode": "post", "close_after_days": 7, "banned_words": [" Bodoh ", "bodoh", "", "tolol"]}
    stored = api_a.put("/v1/comment-policies/newsroom", json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["banned_words"] == ["bodoh", "tolol"] and stored.json()["mode"] == "post"
    section = api_a.put("/v1/comment-policies/section:olahraga", json={"mode": "pre"})
    assert section.json()["mode"] == "pre" and section.json()["close_after_days"] is None
    assert api_a.get("/v1/comment-policies/newsroom").json()["close_after_days"] == 7
    assert api_b.get("/v1/comment-policies/newsroom").json()["mode"] is None  # B's own, untouched

    settings = KabarSettings()
    with Session(db) as session:
        sport = thread_policy(session, settings, newsroom=a.name, section="olahraga", article_uid="x1")
        news = thread_policy(session, settings, newsroom=a.name, section="politik", article_uid="x1")
        theirs = thread_policy(session, settings, newsroom=b.name, section="olahraga", article_uid="x1")
    assert (sport.mode, sport.close_after_days, sport.banned_words) == (Mode.PRE, 7, ("bodoh", "tolol"))
    assert news.mode == Mode.POST
    assert theirs.mode == Mode(settings.comment_default_mode)

    for scope in ("global", "section:", "article:a/b", "newsroom:x"):
        assert api_a.get(f"/v1/comment-policies/{scope}").status_code in (404, 422), scope
    assert api_a.put("/v1/comment-policies/newsroom", json={"mode": "sometimes"}).status_code == 422
    assert [r.reason for r in log_rows(db, a.name, action="policy")] == ["newsroom", "section:olahraga"]


def test_closing_and_reopening_an_article_thread(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, broker: Connection, es: Elasticsearch, prefix: str
) -> None:
    a, _ = rooms
    uid = f"art-{uuid.uuid4().hex[:12]}"
    api_a.put(f"/v1/comment-policies/article:{uid}", json={"mode": "post"})
    closed = api_a.post(f"/v1/comment-threads/{uid}/close", json={"reason": "topik sensitif"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] is True and closed.json()["mode"] == "post"  # the scope's other settings kept
    with Session(db) as session:
        policy = thread_policy(session, KabarSettings(), newsroom=a.name, section=None, article_uid=uid)
    assert policy.closed and not policy.is_open(None, datetime.now(UTC))
    changed_threads(broker, prefix, es, uid, shown=0)
    assert api_a.post(f"/v1/comment-threads/{uid}/open").json()["closed"] is False
    rows = log_rows(db, a.name)
    assert [r.reason for r in rows if r.action in ("close", "open")] == [
        f"article:{uid}: topik sensitif",
        f"article:{uid}",
    ]


def test_the_audit_log_lists_who_when_and_why_newest_first(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, api_b: httpx.Client
) -> None:
    a, _ = rooms
    comments = [add_comment(db, newsroom=a.name) for _ in range(3)]
    for n, comment in enumerate(comments):
        api_a.post(f"/v1/comments/{comment.id}/approve", json={"reason": f"alasan {n}"})
    page = api_a.get("/v1/moderation-log", params={"limit": 2}).json()
    assert [i["reason"] for i in page["items"]][:2] == ["alasan 2", "alasan 1"]
    assert page["items"][0]["actor"] == f"api:{a.name}" and page["items"][0]["at"]
    nxt = api_a.get("/v1/moderation-log", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert nxt["items"][0]["reason"] == "alasan 0"
    one = api_a.get("/v1/moderation-log", params={"comment_id": comments[1].id}).json()["items"]
    assert [(i["action"], i["from_status"], i["to_status"]) for i in one] == [("approve", "pending", "approved")]
    assert api_b.get("/v1/moderation-log", params={"comment_id": comments[1].id}).json()["items"] == []


def test_a_decision_announces_the_changed_thread(
    db: Engine, rooms: tuple[Room, Room], api_a: httpx.Client, broker: Connection, es: Elasticsearch, prefix: str
) -> None:
    a, _ = rooms
    comment = add_comment(db, newsroom=a.name)
    assert api_a.post(f"/v1/comments/{comment.id}/approve").status_code == 200
    changed_threads(broker, prefix, es, comment.article_uid, shown=1)


def test_the_worker_recounts_a_thread_after_decisions(
    db: Engine,
    rooms: tuple[Room, Room],
    api_a: httpx.Client,
    worker: Any,
    broker: Connection,
    es: Elasticsearch,
    prefix: str,
) -> None:
    """End to end: approvals and a rejection reach the reader-side count in Elasticsearch through the worker."""
    a, _ = rooms
    uid = f"art-{uuid.uuid4().hex[:12]}"
    comments = [add_comment(db, newsroom=a.name, article_uid=uid) for _ in range(2)]
    api_a.post("/v1/comments/moderate", json={"action": "approve", "ids": [c.id for c in comments]})
    changed_threads(broker, prefix, es, uid, shown=2)
    api_a.post(f"/v1/comments/{comments[0].id}/reject")
    changed_threads(broker, prefix, es, uid, shown=1)


@pytest.fixture
def broken_app(redis: Redis, prefix: str, rooms: tuple[Room, Room]) -> Iterator[Any]:
    """In-process ingest apps on the run's prefix with PostgreSQL or RabbitMQ unreachable (a closed port)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        options = {"confirm_timeout_seconds": 1, "moderation_refresh_seconds": 3600, **overrides}
        settings = IngestSettings(prefix=prefix, **options)
        client = TestClient(create_app(settings), headers={"X-API-Key": rooms[0].key})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_postgresql_down_is_a_503_for_comments_only(broken_app: Any) -> None:
    client = broken_app(database_url="postgresql+psycopg://kabar:kabar@127.0.0.1:1/kabar")
    answer = client.get("/v1/comments")
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json") and answer.headers["retry-after"]
    assert client.post("/v1/comments/1/approve").status_code == 503
    assert client.get("/healthz").status_code == 200
    # The article API does not depend on PostgreSQL.
    assert client.get("/v1/articles/no-such-article").status_code == 404


def test_a_broker_outage_answers_503_and_a_retry_completes_the_announcement(
    db: Engine,
    rooms: tuple[Room, Room],
    broken_app: Any,
    api_a: httpx.Client,
    broker: Connection,
    es: Elasticsearch,
    prefix: str,
    redis: Redis,
) -> None:
    a, _ = rooms
    comment = add_comment(db, newsroom=a.name)
    client = broken_app(broker_url="amqp://guest:guest@127.0.0.1:1//")
    answer = client.post(f"/v1/comments/{comment.id}/approve")
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    stored = fetch(db, comment.id)
    assert stored is not None and stored.status == Status.APPROVED  # the decision stands
    assert redis.sismember(f"{prefix}:comments:unsent", comment.article_uid)

    retry = api_a.post(f"/v1/comments/{comment.id}/approve")
    assert retry.status_code == 200 and retry.json()["result"] == "unchanged"
    changed_threads(broker, prefix, es, comment.article_uid, shown=1)
    assert not redis.sismember(f"{prefix}:comments:unsent", comment.article_uid)
    assert len(log_rows(db, a.name, comment_id=comment.id)) == 1


def test_queue_gauges_on_ingest_metrics(db: Engine, rooms: tuple[Room, Room], broken_app: Any) -> None:
    a, _ = rooms
    add_comment(db, newsroom=a.name, status=Status.WITHHELD)
    with Session(db) as session:
        expected = session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.newsroom == a.name, Comment.status == Status.WITHHELD)
        )
    client = broken_app(moderation_refresh_seconds=0.2)
    line = f'kabar_comment_queue_size{{newsroom="{a.name}",queue="withheld"}} {float(expected or 0)}'
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        metrics = client.get("/metrics").text
        if line in metrics.splitlines():
            return
        time.sleep(0.2)
    raise AssertionError(f"{line!r} not in {[m for m in metrics.splitlines() if 'comment_queue' in m]}")
