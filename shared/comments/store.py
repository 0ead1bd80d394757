"""What the moderation workers do to the comment tables: store a submission with its rules' decision, count
reports, count shown comments for Elasticsearch, delete a deleted article's thread.

Every function works in the caller's Session and transaction; the caller commits, so one task is one
transaction and a redelivered task finds either all of its work or none of it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, and_, delete, func, literal, outerjoin, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.comments.events import CommentReported, CommentSubmitted
from shared.comments.policy import thread_policy
from shared.comments.rules import Decision, History, Submission, body_fingerprint, moderate
from shared.comments.tables import SHOWN, Comment, Commenter, CommentReport, ModerationLog, Status
from shared.settings import KabarSettings

# Distinct readers reporting a post-moderated (visible) comment before a rule withholds it for a moderator.
REPORTS_TO_WITHHOLD = 3

# The moderation log's action for each status a decision sets.
ACTIONS = {
    Status.VISIBLE: "show",
    Status.PENDING: "hold",
    Status.APPROVED: "approve",
    Status.REJECTED: "reject",
    Status.WITHHELD: "withhold",
}

# pg_advisory_xact_lock's two-key form: this class id keeps address locks apart from other advisory locks.
_ADDRESS_LOCK_CLASS = 0x4B43  # "KC"


def body_hash(body: str) -> bytes:
    """What the repeated-text rule compares: SHA-256 of the body's fingerprint (comments.body_hash)."""
    return hashlib.sha256(body_fingerprint(body).encode()).digest()


def history(
    session: Session,
    settings: KabarSettings,
    *,
    newsroom: str,
    email_hash: bytes,
    address_hash: bytes,
    body_hash: bytes,
    now: datetime,
) -> History:
    """What the rules need to know of the commenter, the address and the text, before this submission is stored.

    Every stored submission counts, refused ones included: a flood keeps hitting the rate limit while it lasts.
    Addresses count per newsroom, like everything else a newsroom's policy decides (and one carrier-grade NAT
    address behind many readers is not throttled by the traffic of every site at once).
    """
    commenter = session.scalar(
        select(Commenter).where(Commenter.newsroom == newsroom, Commenter.email_hash == email_hash)
    )
    recent = Comment.created_at > now - timedelta(seconds=settings.comment_rate_window_seconds)
    by_commenter = (
        select(func.count()).select_from(Comment).where(Comment.commenter_id == commenter.id, recent).scalar_subquery()
        if commenter is not None
        else literal(0)
    )
    by_address = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.newsroom == newsroom, Comment.address_hash == address_hash, recent)
        .scalar_subquery()
    )
    same_text = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.newsroom == newsroom, Comment.body_hash == body_hash, recent)
        .scalar_subquery()
    )
    counts = session.execute(select(by_commenter, by_address, same_text)).one()
    return History(
        commenter_banned=commenter is not None and commenter.banned_at is not None,
        commenter_approved=commenter.approved_count if commenter is not None else 0,
        recent_by_commenter=int(counts[0]),
        recent_by_address=int(counts[1]),
        same_text_recent=int(counts[2]),
    )


def stored_decision(comment: Comment) -> Decision:
    """The decision a stored comment carries now (a redelivered submission answers with it)."""
    by_rule = comment.status_by.startswith("rule:")
    return Decision(
        status=Status(comment.status),
        rule=comment.status_by.removeprefix("rule:"),
        refused=by_rule and comment.status == Status.REJECTED,
    )


def apply_submission(
    session: Session, settings: KabarSettings, event: CommentSubmitted
) -> tuple[Comment, Decision, bool]:
    """Moderate and store one submission; returns the comment, its decision and whether this call stored it.

    Refused submissions are stored too (status `rejected`): the reader's status page and the audit need them,
    and they count towards the rate limits. A submission already stored (a redelivery, a resent form) is
    returned as it is, with no second decision or log row.
    """
    stored = session.scalar(select(Comment).where(Comment.submission_id == event.submission_id))
    if stored is not None:
        return stored, stored_decision(stored), False
    email_hash = bytes.fromhex(event.email_hash)
    address_hash = bytes.fromhex(event.address_hash)
    fingerprint = body_hash(event.body)
    commenter = _lock_commenter(session, newsroom=event.newsroom, email_hash=email_hash)
    _lock_address(session, newsroom=event.newsroom, address_hash=address_hash)
    # The reader's time, not the worker's: a backlog worked off in a burst neither closes a thread the reader
    # found open nor squeezes their submissions into one rate window.
    now = event.submitted_at
    policy = thread_policy(
        session, settings, newsroom=event.newsroom, section=event.section, article_uid=event.article_uid
    )
    parent_id, refusal = _parent(session, event)
    decision: Decision
    if not policy.is_open(event.published_at, now):
        decision, parent_id = Decision(Status.REJECTED, "closed", refused=True), None
    elif refusal is not None:
        decision = refusal
    else:
        known = history(
            session,
            settings,
            newsroom=event.newsroom,
            email_hash=email_hash,
            address_hash=address_hash,
            body_hash=fingerprint,
            now=now,
        )
        decision = moderate(
            Submission(body=event.body, author_name=event.author_name, parent_id=parent_id),
            known,
            policy.rules_policy(settings),
        )
    comment = session.scalar(
        pg_insert(Comment)
        .values(
            submission_id=event.submission_id,
            newsroom=event.newsroom,
            article_uid=event.article_uid,
            parent_id=parent_id,
            commenter_id=commenter.id,
            author_name=event.author_name,
            body=event.body,
            body_hash=fingerprint,
            address_hash=address_hash,
            status=decision.status.value,
            status_by=f"rule:{decision.rule}",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Comment.submission_id])
        .returning(Comment)
    )
    if comment is None:
        # Another delivery of the same submission committed between our first look and the insert.
        stored = session.scalars(select(Comment).where(Comment.submission_id == event.submission_id)).one()
        return stored, stored_decision(stored), False
    session.add(
        ModerationLog(
            newsroom=event.newsroom,
            comment_id=comment.id,
            commenter_id=commenter.id,
            action=ACTIONS[decision.status],
            actor=f"rule:{decision.rule}",
            reason=decision.reason,
            to_status=decision.status.value,
        )
    )
    session.flush()
    return comment, decision, True


def _lock_commenter(session: Session, *, newsroom: str, email_hash: bytes) -> Commenter:
    """The commenter, created on their first submission and locked to the end of the transaction: one
    commenter's submissions are moderated one at a time, so two at once cannot both slip under the rate limit."""
    session.execute(
        pg_insert(Commenter)
        .values(newsroom=newsroom, email_hash=email_hash)
        .on_conflict_do_nothing(index_elements=[Commenter.newsroom, Commenter.email_hash])
    )
    return session.scalars(
        select(Commenter)
        .where(Commenter.newsroom == newsroom, Commenter.email_hash == email_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _lock_address(session: Session, *, newsroom: str, address_hash: bytes) -> None:
    """The same for one address in one newsroom (a flood from one address uses many email addresses).
    Always taken after the commenter's lock, so two submissions never wait on each other in a circle."""
    key = int.from_bytes(hashlib.sha256(newsroom.encode() + b"\0" + address_hash).digest()[:4], "big", signed=True)
    session.execute(select(func.pg_advisory_xact_lock(_ADDRESS_LOCK_CLASS, key)))


def _parent(session: Session, event: CommentSubmitted) -> tuple[int | None, Decision | None]:
    """The parent a reply is stored under, or the refusal of a parent outside this article's thread."""
    if event.parent_id is None:
        return None, None
    parent = session.get(Comment, event.parent_id)
    if parent is None or parent.newsroom != event.newsroom or parent.article_uid != event.article_uid:
        return None, Decision(Status.REJECTED, "bad-parent", refused=True, reason="parent not in this thread")
    # One level of replies (Ghost's rule): a reply to a reply joins its top-level comment's replies.
    return parent.parent_id or parent.id, None


@dataclass(frozen=True)
class Reported:
    """What one report did: stored (False for a reader's second report of the same comment, or a comment
    that is gone), and the article whose shown comments changed when it withheld the comment."""

    stored: bool
    withheld_in: str | None = None


def apply_report(session: Session, event: CommentReported) -> Reported:
    """Store one reader's report once; the REPORTS_TO_WITHHOLD-th distinct one withholds a visible comment."""
    # Locked: concurrent reports of one comment count one after the other, so the threshold is crossed once.
    comment = session.scalars(select(Comment).where(Comment.id == event.comment_id).with_for_update()).one_or_none()
    if comment is None:
        return Reported(stored=False)  # deleted since the reader saw it
    inserted = session.scalar(
        pg_insert(CommentReport)
        .values(
            comment_id=comment.id,
            reason=event.reason.value,
            note=event.note,
            reporter_hash=bytes.fromhex(event.reporter_hash),
            created_at=event.reported_at,
        )
        .on_conflict_do_nothing(index_elements=[CommentReport.comment_id, CommentReport.reporter_hash])
        .returning(CommentReport.id)
    )
    if inserted is None:
        return Reported(stored=False)
    comment.report_count += 1
    # Approved comments stay: a moderator already read them (the reports still put them in the reported queue).
    if comment.report_count < REPORTS_TO_WITHHOLD or comment.status != Status.VISIBLE:
        session.flush()
        return Reported(stored=True)
    comment.status = Status.WITHHELD.value
    comment.status_by = "rule:reports"
    comment.status_at = datetime.now(UTC)
    session.add(
        ModerationLog(
            newsroom=comment.newsroom,
            comment_id=comment.id,
            commenter_id=comment.commenter_id,
            action=ACTIONS[Status.WITHHELD],
            actor="rule:reports",
            reason=f"{comment.report_count} reports",
            from_status=Status.VISIBLE.value,
            to_status=Status.WITHHELD.value,
        )
    )
    session.flush()
    return Reported(stored=True, withheld_in=comment.article_uid)


@dataclass(frozen=True)
class ThreadCount:
    """An article's shown comments (top-level and replies) as read at `read_at` (PostgreSQL's clock)."""

    count: int
    last_at: datetime | None
    newsroom: str | None  # None when count is 0
    read_at: datetime


def shown_counts(session: Session, uids: list[str]) -> dict[str, ThreadCount]:
    """Every asked article's shown comments, in one statement (0 for an article without any).

    `read_at` is the statement's start, taken before its snapshot: a count with a later `read_at` saw every
    commit an earlier one saw, so it may replace it (the Elasticsearch writes use it as external version).
    """
    if not uids:
        return {}
    asked = (
        func.unnest(literal(list(dict.fromkeys(uids)), ARRAY(String))).table_valued("uid").render_derived(name="asked")
    )
    shown = Comment.article_uid == asked.c.uid
    rows = session.execute(
        select(
            asked.c.uid,
            func.count(Comment.id),
            func.max(Comment.created_at),
            func.min(Comment.newsroom),
            func.statement_timestamp(),
        )
        .select_from(outerjoin(asked, Comment, and_(shown, Comment.status.in_([s.value for s in SHOWN]))))
        .group_by(asked.c.uid)
    )
    return {uid: ThreadCount(int(count), last_at, newsroom, read_at) for uid, count, last_at, newsroom, read_at in rows}


def forget_thread(session: Session, *, newsroom: str | None, uid: str) -> int:
    """Delete an article's comments (replies and reports go by cascade); one log row per thread deleted.

    Idempotent: a second call finds nothing and logs nothing.
    """
    statement = delete(Comment).where(Comment.article_uid == uid)
    if newsroom is not None:
        statement = statement.where(Comment.newsroom == newsroom)
    deleted = Counter(session.scalars(statement.returning(Comment.newsroom)).all())
    for room, count in deleted.items():
        session.add(
            ModerationLog(
                newsroom=room,
                action="thread-deleted",
                actor="rule:article-deleted",
                reason=f"article {uid}: {count} comments",
            )
        )
    session.flush()
    return sum(deleted.values())
