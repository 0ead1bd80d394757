"""The moderation worker on the real stack: submissions and reports go through RabbitMQ to the real worker, which
stores them in the real PostgreSQL, writes counts to the real Elasticsearch, and forgets a deleted article's thread.

Each test works in a newsroom (or article) of its own, so tests never count each other's comments. Earlier
submissions a rule needs (rate, repeated text) are stored through the store directly, which is what the worker
runs; the decisive one always goes through the queue.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from harness.stack import private_stack
from services.index.config import IndexSettings
from shared.comments import store
from shared.comments.events import CommentReportedV1, CommentsChangedV1, CommentSubmittedV1
from shared.comments.policy import NEWSROOM_SCOPE, article_scope
from shared.comments.tables import Comment, Commenter, CommentPolicy, CommentReport, ModerationLog, ReportReason
from shared.db import make_engine
from shared.es import IndexNames
from shared.messaging import (
    TASK_COMMENT_CHANGED,
    TASK_COMMENT_REPORT,
    TASK_COMMENT_SUBMIT,
    Queues,
)
from shared.producer import TaskProducer
from tests.stack import Proc, free_port, wait_until

PLAIN = "Pemerintah daerah perlu segera memperbaiki tanggul di sepanjang sungai ini."
WAIT = 60.0  # the machine is shared: a queue round trip can take a while under load


@pytest.fixture
def producer(worker: Proc, settings: IndexSettings, prefix: str) -> Iterator[TaskProducer]:
    """Sends as publish and the moderation API do: by task name, to the comments queue, confirmed."""
    sender = TaskProducer(name="test-comments", broker_url=settings.broker_url, prefix=prefix, confirm_timeout=10)
    yield sender
    sender.close()


@pytest.fixture
def newsroom() -> str:
    return f"nr-{uuid.uuid4().hex[:10]}"


def _hex() -> str:
    return secrets.token_hex(32)


def submission(newsroom: str, **fields: Any) -> CommentSubmittedV1:
    """A valid submission by a new reader from a new address on a new article, with a text of its own; keyword
    arguments override."""
    values: dict[str, Any] = {
        "newsroom": newsroom,
        "article_uid": f"a-{uuid.uuid4().hex[:12]}",
        "author_name": "Pembaca Setia",
        # A number of its own, so the repeated-text rule never sees two tests' comments as copies.
        "body": f"{PLAIN} ({secrets.randbelow(10**9)})",
        "email_hash": _hex(),
        "address_hash": _hex(),
        **fields,
    }
    return CommentSubmittedV1(**values)


def send(producer: TaskProducer, event: CommentSubmittedV1, *, nested: bool = False) -> None:
    """As publish sends it: the contract's fields as the task's keyword arguments (or all of it as `event=`)."""
    payload = event.model_dump(mode="json")
    producer.send(TASK_COMMENT_SUBMIT, kwargs={"event": payload} if nested else payload, queue=queue(producer))


def queue(producer: TaskProducer) -> str:
    return Queues(producer.prefix).comments


def wait_comment(db: Engine, submission_id: str, *, status: str | None = None) -> Comment:
    """The stored comment of a submission, once the worker stored it (with this status, when given)."""

    def stored() -> Comment | None:
        with Session(db) as session:
            comment = session.scalar(select(Comment).where(Comment.submission_id == submission_id))
        return comment if comment is not None and (status is None or comment.status == status) else None

    return wait_until(stored, timeout=WAIT, what=f"comment {submission_id} {status or 'stored'}")


def moderated(producer: TaskProducer, db: Engine, event: CommentSubmittedV1) -> Comment:
    send(producer, event)
    return wait_comment(db, event.submission_id)


def log_rows(db: Engine, comment_id: int) -> list[ModerationLog]:
    with Session(db) as session:
        return list(session.scalars(select(ModerationLog).where(ModerationLog.comment_id == comment_id)))


def set_policy(db: Engine, newsroom: str, scope: str = NEWSROOM_SCOPE, **fields: Any) -> None:
    with Session(db) as session, session.begin():
        session.execute(
            pg_insert(CommentPolicy)
            .values(newsroom=newsroom, scope=scope, **fields)
            .on_conflict_do_update(index_elements=[CommentPolicy.newsroom, CommentPolicy.scope], set_=fields)
        )


def known_commenter(db: Engine, newsroom: str, email_hash: str, *, approved: int = 0, banned: bool = False) -> None:
    """A commenter the store knows already: with comments a moderator approved, or banned."""
    with Session(db) as session, session.begin():
        session.add(
            Commenter(
                newsroom=newsroom,
                email_hash=bytes.fromhex(email_hash),
                approved_count=approved,
                banned_at=datetime.now(UTC) if banned else None,
            )
        )


def stored_directly(db: Engine, settings: IndexSettings, event: CommentSubmittedV1) -> Comment:
    """An earlier submission, stored by the same store function the worker runs."""
    with Session(db, expire_on_commit=False) as session, session.begin():
        comment, _, created = store.apply_submission(session, settings, event)
    assert created
    return comment


def sentinel(producer: TaskProducer, db: Engine, newsroom: str) -> None:
    """Send one more submission and wait for it: the single comments consumer works in order, so everything sent
    before it has been worked off by then."""
    moderated(producer, db, submission(newsroom))


# ---- each rule, each status, through the queue -------------------------------------------------------------


def test_a_new_reader_s_first_comment_is_held(producer: TaskProducer, db: Engine, newsroom: str) -> None:
    set_policy(db, newsroom, mode="post")  # held although the newsroom post-moderates
    comment = moderated(producer, db, submission(newsroom))
    assert (comment.status, comment.status_by) == ("pending", "rule:first-comment")
    logs = log_rows(db, comment.id)
    assert [(r.action, r.actor, r.to_status) for r in logs] == [("hold", "rule:first-comment", "pending")]
    assert logs[0].commenter_id == comment.commenter_id


def test_pre_moderation_holds_a_known_reader_and_post_moderation_shows_them(
    producer: TaskProducer, db: Engine, newsroom: str
) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    # Kabar's default mode (pre) until the newsroom sets one.
    held = moderated(producer, db, submission(newsroom, email_hash=email))
    assert (held.status, held.status_by) == ("pending", "rule:pre-moderation")
    set_policy(db, newsroom, mode="post")
    shown = moderated(producer, db, submission(newsroom, email_hash=email))
    assert (shown.status, shown.status_by) == ("visible", "rule:post-moderation")
    assert [(r.action, r.actor) for r in log_rows(db, shown.id)] == [("show", "rule:post-moderation")]
    # The same commenter row both times: one reader per newsroom and email hash.
    assert held.commenter_id == shown.commenter_id


def test_a_section_or_article_policy_overrides_the_newsroom_s(
    producer: TaskProducer, db: Engine, newsroom: str
) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=3)
    set_policy(db, newsroom, mode="post")
    set_policy(db, newsroom, "section:politik", mode="pre")
    held = moderated(producer, db, submission(newsroom, email_hash=email, section="politik"))
    assert held.status_by == "rule:pre-moderation"
    article = f"a-{uuid.uuid4().hex[:12]}"
    set_policy(db, newsroom, article_scope(article), mode="post")
    shown = moderated(producer, db, submission(newsroom, email_hash=email, section="politik", article_uid=article))
    assert shown.status_by == "rule:post-moderation"


REFUSED_OR_WITHHELD = [
    pytest.param({"body": "a"}, "rejected", "too-short", id="too-short"),
    pytest.param({"body": "kata " * 700}, "rejected", "too-long", id="too-long"),
    pytest.param(
        {"body": "Baca juga http://a.com/x dan http://b.com/y serta http://c.com/z ya"},
        "withheld",
        "too-many-links",
        id="links",
    ),
    pytest.param({"body": "Dasar g0bl0k semua pejabatnya"}, "withheld", "banned-word", id="banned-word"),
    pytest.param({"author_name": "Slot Gacor 88"}, "withheld", "banned-word", id="banned-name"),
    pytest.param(
        {"body": "Jackpot scatter hari ini hubungi 081234567890 contoh.com"}, "withheld", "spam-score", id="spam"
    ),
]


@pytest.mark.parametrize(("fields", "status", "rule"), REFUSED_OR_WITHHELD)
def test_content_rules(
    producer: TaskProducer, db: Engine, newsroom: str, fields: dict[str, Any], status: str, rule: str
) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=5)
    set_policy(db, newsroom, mode="post")  # so nothing but the rule under test could hold it
    comment = moderated(producer, db, submission(newsroom, email_hash=email, **fields))
    assert (comment.status, comment.status_by) == (status, f"rule:{rule}")
    logs = log_rows(db, comment.id)
    assert [(r.actor, r.to_status) for r in logs] == [(f"rule:{rule}", status)]
    # The log says why in a few words, never with the reader's text.
    assert logs[0].reason is None or comment.body not in logs[0].reason


def test_a_banned_commenter_is_refused(producer: TaskProducer, db: Engine, newsroom: str) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=10, banned=True)
    comment = moderated(producer, db, submission(newsroom, email_hash=email))
    assert (comment.status, comment.status_by) == ("rejected", "rule:banned-commenter")
    # The ban is per newsroom: the same reader elsewhere is a new commenter.
    elsewhere = moderated(producer, db, submission(f"{newsroom}-b", email_hash=email))
    assert elsewhere.status_by == "rule:first-comment"


def test_rate_per_commenter(producer: TaskProducer, db: Engine, settings: IndexSettings, newsroom: str) -> None:
    email = _hex()
    for n in range(settings.comment_max_per_commenter):
        stored_directly(db, settings, submission(newsroom, email_hash=email, body=f"{PLAIN} ({n})"))
    refused = moderated(producer, db, submission(newsroom, email_hash=email, body="Satu lagi dari saya."))
    assert (refused.status, refused.status_by) == ("rejected", "rule:rate-commenter")
    # Another reader is not held back by this one's rate.
    other = moderated(producer, db, submission(newsroom, body="Saya juga ingin berpendapat."))
    assert other.status_by == "rule:first-comment"


def test_rate_per_address(producer: TaskProducer, db: Engine, settings: IndexSettings, newsroom: str) -> None:
    address = _hex()
    for n in range(settings.comment_max_per_address):
        stored_directly(db, settings, submission(newsroom, address_hash=address, body=f"{PLAIN} [{n}]"))
    refused = moderated(producer, db, submission(newsroom, address_hash=address, body="Dari alamat yang sama."))
    assert (refused.status, refused.status_by) == ("rejected", "rule:rate-address")
    # Counted per newsroom: the address posts to another newsroom freely.
    elsewhere = moderated(producer, db, submission(f"{newsroom}-b", address_hash=address))
    assert elsewhere.status_by == "rule:first-comment"


def test_repeated_text(producer: TaskProducer, db: Engine, settings: IndexSettings, newsroom: str) -> None:
    text = "Mantap, beritanya sangat bermanfaat untuk kami semua."
    first = stored_directly(db, settings, submission(newsroom, body=text))
    # Two earlier copies are needed; the same words in another case and spacing are the same text.
    stored_directly(db, settings, submission(newsroom, body="  MANTAP beritanya, sangat bermanfaat untuk kami semua!"))
    assert first.status_by == "rule:first-comment"
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    copy = moderated(producer, db, submission(newsroom, email_hash=email, body=text))
    assert (copy.status, copy.status_by) == ("withheld", "rule:repeated-text")
    # Other newsrooms' copies do not count.
    elsewhere = moderated(producer, db, submission(f"{newsroom}-b", email_hash=email, body=text))
    assert elsewhere.status_by == "rule:first-comment"


# ---- threads ---------------------------------------------------------------------------------------------------


def test_a_closed_thread_refuses_comments(producer: TaskProducer, db: Engine, newsroom: str) -> None:
    article = f"a-{uuid.uuid4().hex[:12]}"
    set_policy(db, newsroom, article_scope(article), closed=True)
    closed = moderated(producer, db, submission(newsroom, article_uid=article))
    assert (closed.status, closed.status_by) == ("rejected", "rule:closed")
    assert [r.actor for r in log_rows(db, closed.id)] == ["rule:closed"]
    # By age: the default closes threads 30 days after publication.
    old = datetime.now(UTC) - timedelta(days=31)
    aged = moderated(producer, db, submission(newsroom, published_at=old))
    assert aged.status_by == "rule:closed"
    recent = moderated(producer, db, submission(newsroom, published_at=datetime.now(UTC) - timedelta(days=29)))
    assert recent.status_by == "rule:first-comment"


def test_replies_are_one_level_and_stay_in_their_thread(
    producer: TaskProducer, db: Engine, settings: IndexSettings, newsroom: str
) -> None:
    article = f"a-{uuid.uuid4().hex[:12]}"
    top = stored_directly(db, settings, submission(newsroom, article_uid=article))
    reply = moderated(producer, db, submission(newsroom, article_uid=article, parent_id=top.id))
    assert reply.parent_id == top.id
    # A reply to a reply becomes a reply to the top-level comment.
    nested = moderated(producer, db, submission(newsroom, article_uid=article, parent_id=reply.id))
    assert nested.parent_id == top.id
    assert nested.status_by == "rule:first-comment"
    # A parent on another article (or in another newsroom, or none at all) is refused.
    for event in (
        submission(newsroom, parent_id=top.id),
        submission(f"{newsroom}-b", article_uid=article, parent_id=top.id),
        submission(newsroom, article_uid=article, parent_id=2**62),
    ):
        refused = moderated(producer, db, event)
        assert (refused.status, refused.status_by, refused.parent_id) == ("rejected", "rule:bad-parent", None)


def test_a_redelivered_submission_stores_one_comment_and_one_decision(
    producer: TaskProducer, db: Engine, settings: IndexSettings, newsroom: str
) -> None:
    event = submission(newsroom)
    send(producer, event)
    send(producer, event, nested=True)  # the same submission in the task's other form
    sentinel(producer, db, newsroom)
    with Session(db) as session:
        comments = list(session.scalars(select(Comment).where(Comment.submission_id == event.submission_id)))
        assert len(comments) == 1
        logs = session.scalar(select(func.count()).where(ModerationLog.comment_id == comments[0].id))
        assert logs == 1
        # The reader's history holds one submission, not two.
        known = store.history(
            session,
            settings,
            newsroom=newsroom,
            email_hash=bytes.fromhex(event.email_hash),
            address_hash=bytes.fromhex(event.address_hash),
            body_hash=store.body_hash(event.body),
            now=event.submitted_at,
        )
    assert known.recent_by_commenter == 1


# ---- reports ----------------------------------------------------------------------------------------------------


def test_reports_count_once_per_reader_and_three_withhold_a_visible_comment(
    producer: TaskProducer, db: Engine, es: Elasticsearch, names: IndexNames, newsroom: str
) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    set_policy(db, newsroom, mode="post")
    comment = moderated(producer, db, submission(newsroom, email_hash=email))
    assert comment.status == "visible"
    wait_until(lambda: count_doc(es, names, comment.article_uid), timeout=WAIT, what="count document")

    def report(reporter: str) -> None:
        event = CommentReportedV1(comment_id=comment.id, reason=ReportReason.ABUSIVE, reporter_hash=reporter)
        producer.send(TASK_COMMENT_REPORT, kwargs=event.model_dump(mode="json"), queue=queue(producer))

    first, second, third = _hex(), _hex(), _hex()
    report(first)
    report(first)
    report(second)
    sentinel(producer, db, newsroom)
    with Session(db) as session:
        again = session.get_one(Comment, comment.id)
        reports = session.scalar(select(func.count()).where(CommentReport.comment_id == comment.id))
    assert (again.report_count, reports, again.status) == (2, 2, "visible")

    report(third)
    withheld = wait_comment(db, comment.submission_id, status="withheld")
    assert (withheld.status_by, withheld.report_count) == ("rule:reports", 3)
    rows = log_rows(db, comment.id)
    assert [(r.actor, r.from_status, r.to_status) for r in rows][-1] == ("rule:reports", "visible", "withheld")
    # Withheld is no longer shown: the thread's count follows.
    wait_until(lambda: count_doc(es, names, comment.article_uid) is None, timeout=WAIT, what="count deleted")


# ---- counts and deleted articles -------------------------------------------------------------------------------


def count_doc(es: Elasticsearch, names: IndexNames, uid: str) -> dict[str, Any] | None:
    got = es.options(ignore_status=404).get(index=names.comment_counts, id=uid)
    return got["_source"] if got.get("found") else None


def test_counts_follow_shown_comments_into_elasticsearch(
    producer: TaskProducer, db: Engine, es: Elasticsearch, names: IndexNames, newsroom: str
) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    set_policy(db, newsroom, mode="post")
    article = f"a-{uuid.uuid4().hex[:12]}"
    first = moderated(producer, db, submission(newsroom, email_hash=email, article_uid=article))
    doc = wait_until(lambda: count_doc(es, names, article), timeout=WAIT, what="count document")
    assert doc["count"] == 1 and doc["newsroom"] == newsroom
    # A reply counts; a held comment does not.
    moderated(producer, db, submission(newsroom, email_hash=email, article_uid=article, parent_id=first.id))
    moderated(producer, db, submission(newsroom, article_uid=article))  # a new reader: held
    doc = wait_until(
        lambda: (d := count_doc(es, names, article)) and d["count"] == 2 and d, timeout=WAIT, what="count of 2"
    )
    assert datetime.fromisoformat(doc["last_comment_at"]) >= first.created_at

    # A moderator's decision (here straight in the table) is announced as the moderation API does it: the
    # contract's fields as the task's keyword arguments. No comment shown: the document goes.
    with Session(db) as session, session.begin():
        session.execute(
            update(Comment).where(Comment.article_uid == article).values(status="rejected", status_by="moderator:t")
        )
    producer.send(
        TASK_COMMENT_CHANGED,
        kwargs=CommentsChangedV1(article_uids=[article]).model_dump(mode="json"),
        queue=queue(producer),
    )
    wait_until(lambda: count_doc(es, names, article) is None, timeout=WAIT, what="count document deleted")


def test_an_older_count_never_replaces_a_newer_one(db: Engine, es: Elasticsearch, names: IndexNames) -> None:
    from services.index.comments.counts import write_counts

    article = f"a-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    newer = store.ThreadCount(count=5, last_at=now, newsroom="nr", read_at=now)
    older = store.ThreadCount(count=1, last_at=now, newsroom="nr", read_at=now - timedelta(microseconds=1))
    assert write_counts(es=es, names=names, counts={article: newer}) == 1
    assert write_counts(es=es, names=names, counts={article: older}) == 0
    assert count_doc(es, names, article)["count"] == 5  # type: ignore[index]
    gone = store.ThreadCount(count=0, last_at=None, newsroom=None, read_at=now + timedelta(seconds=1))
    assert write_counts(es=es, names=names, counts={article: gone}) == 1
    assert count_doc(es, names, article) is None


def test_deleting_an_article_deletes_its_thread_and_withdrawing_keeps_it(
    producer: TaskProducer,
    db: Engine,
    es: Elasticsearch,
    names: IndexNames,
    ingest: httpx.Client,
    seed_article: dict[str, Any],
) -> None:
    newsroom = "channel9"  # the api_key's newsroom
    article = {**seed_article, "external_id": f"comments-{uuid.uuid4().hex[:10]}"}
    accepted = ingest.post("/v1/articles", json=article)
    assert accepted.status_code == 202, accepted.text
    uid = accepted.json()["uid"]
    path = f"/v1/articles/{article['external_id']}"
    wait_status(ingest, path, "published")
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    set_policy(db, newsroom, article_scope(uid), mode="post")
    top = moderated(producer, db, submission(newsroom, email_hash=email, article_uid=uid))
    moderated(producer, db, submission(newsroom, email_hash=email, article_uid=uid, parent_id=top.id))
    wait_until(lambda: count_doc(es, names, uid), timeout=WAIT, what="count document")

    assert ingest.post(f"{path}/unpublish").status_code == 202
    wait_status(ingest, path, "withdrawn")
    time.sleep(1)  # the index worker sends follow-up work just after it records the state
    sentinel(producer, db, newsroom)
    assert len(thread(db, uid)) == 2  # hidden by publish with the article, kept for its return

    assert ingest.delete(path).status_code == 202
    wait_until(lambda: not thread(db, uid), timeout=WAIT, what="thread deleted")
    wait_until(lambda: count_doc(es, names, uid) is None, timeout=WAIT, what="count document deleted")
    with Session(db) as session:
        logged = list(
            session.scalars(
                select(ModerationLog).where(
                    ModerationLog.action == "thread-deleted", ModerationLog.reason.contains(uid)
                )
            )
        )
    assert [(r.newsroom, r.reason) for r in logged] == [(newsroom, f"article {uid}: 2 comments")]


def thread(db: Engine, uid: str) -> list[Comment]:
    with Session(db) as session:
        return list(session.scalars(select(Comment).where(Comment.article_uid == uid)))


def wait_status(ingest: httpx.Client, path: str, status: str) -> None:
    wait_until(lambda: ingest.get(path).json().get("status") == status, timeout=WAIT, what=f"{path} {status}")


# ---- the store on its own --------------------------------------------------------------------------------------


def test_shown_counts_count_shown_comments_and_replies_only(db: Engine, settings: IndexSettings, newsroom: str) -> None:
    email = _hex()
    known_commenter(db, newsroom, email, approved=1)
    set_policy(db, newsroom, mode="post")
    article = f"a-{uuid.uuid4().hex[:12]}"
    top = stored_directly(db, settings, submission(newsroom, email_hash=email, article_uid=article))
    stored_directly(db, settings, submission(newsroom, email_hash=email, article_uid=article, parent_id=top.id))
    stored_directly(db, settings, submission(newsroom, article_uid=article))  # held
    approved = stored_directly(db, settings, submission(newsroom, article_uid=article, body="Pendapat lain."))
    with Session(db) as session, session.begin():
        session.execute(update(Comment).where(Comment.id == approved.id).values(status="approved"))
    with Session(db) as session:
        counts = store.shown_counts(session, [article, "never-commented", article])
    assert set(counts) == {article, "never-commented"}
    assert (counts[article].count, counts[article].newsroom) == (3, newsroom)
    assert counts[article].last_at == approved.created_at
    assert (counts["never-commented"].count, counts["never-commented"].last_at) == (0, None)


def test_refused_submissions_count_towards_the_rate(db: Engine, settings: IndexSettings, newsroom: str) -> None:
    email = _hex()
    for _ in range(settings.comment_max_per_commenter):
        assert stored_directly(db, settings, submission(newsroom, email_hash=email, body="x")).status == "rejected"
    with Session(db, expire_on_commit=False) as session, session.begin():
        comment, decision, created = store.apply_submission(session, settings, submission(newsroom, email_hash=email))
        assert (decision.rule, decision.refused, created) == ("rate-commenter", True, True)
        again, decision_again, created_again = store.apply_submission(
            session,
            settings,
            CommentSubmittedV1.model_validate(
                {**submission(newsroom).model_dump(), "submission_id": comment.submission_id}
            ),
        )
    assert (again.id, decision_again.rule, created_again) == (comment.id, "rate-commenter", False)


def test_reports_never_withhold_an_approved_comment(db: Engine, settings: IndexSettings, newsroom: str) -> None:
    comment = stored_directly(db, settings, submission(newsroom))
    with Session(db) as session, session.begin():
        session.execute(update(Comment).where(Comment.id == comment.id).values(status="approved"))
    outcomes = []
    for _ in range(4):
        with Session(db) as session, session.begin():
            event = CommentReportedV1(comment_id=comment.id, reason=ReportReason.SPAM, reporter_hash=_hex())
            outcomes.append(store.apply_report(session, event))
    assert [(o.stored, o.withheld_in) for o in outcomes] == [(True, None)] * 4
    with Session(db) as session:
        again = session.get_one(Comment, comment.id)
        assert (again.status, again.report_count) == ("approved", 4)
        gone = store.apply_report(
            session, CommentReportedV1(comment_id=2**62, reason=ReportReason.OTHER, reporter_hash=_hex())
        )
    assert gone == store.Reported(stored=False)


def test_forget_thread_is_idempotent_and_keeps_other_newsrooms(
    db: Engine, settings: IndexSettings, newsroom: str
) -> None:
    article = f"a-{uuid.uuid4().hex[:12]}"
    top = stored_directly(db, settings, submission(newsroom, article_uid=article))
    stored_directly(db, settings, submission(newsroom, article_uid=article, parent_id=top.id))
    other = stored_directly(db, settings, submission(f"{newsroom}-b", article_uid=article))
    with Session(db) as session, session.begin():
        assert store.forget_thread(session, newsroom=newsroom, uid=article) == 2
    with Session(db) as session, session.begin():
        assert store.forget_thread(session, newsroom=newsroom, uid=article) == 0
    assert [c.id for c in thread(db, article)] == [other.id]
    with Session(db) as session:
        rows = list(
            session.scalars(
                select(ModerationLog).where(
                    ModerationLog.action == "thread-deleted", ModerationLog.newsroom == newsroom
                )
            )
        )
    assert [(r.actor, r.comment_id) for r in rows] == [("rule:article-deleted", None)]


# ---- outages ---------------------------------------------------------------------------------------------------


def test_a_database_outage_delays_a_submission_and_loses_none(newsroom: str) -> None:
    """With PostgreSQL unreachable the task is retried, not dropped; a worker that reaches it stores it once."""
    with private_stack("m", KABAR_RETRY_BACKOFF_MAX_SECONDS="2") as stack:
        unreachable = f"postgresql+psycopg://kabar:kabar@127.0.0.1:{free_port()}/kabar"
        cut_off = stack.worker(("comments",), name="worker-nodb", env={**stack.env, "KABAR_DATABASE_URL": unreachable})
        sender = TaskProducer(
            name="test-outage", broker_url=stack.settings.broker_url, prefix=stack.prefix, confirm_timeout=10
        )
        engine = make_engine(stack.settings, pool_size=1)
        try:
            event = submission(newsroom, body="Tanggulnya jebol lagi, rahasia pembaca 4711.")
            send(sender, event)
            wait_until(lambda: cut_off.log().count("Retry in") >= 2, timeout=WAIT, what="retries while cut off")
            assert "rahasia pembaca" not in cut_off.log()  # nothing a reader wrote in the worker's log
            cut_off.stop()
            stack.worker(("comments",), name="worker-db")
            comment = wait_comment(engine, event.submission_id)
            assert comment.status_by == "rule:first-comment"
            assert [r.actor for r in log_rows(engine, comment.id)] == ["rule:first-comment"]
        finally:
            sender.close()
            engine.dispose()
