"""Moderation of one newsroom's comments: queues, decisions, bans, erasure, policies and the audit log.

Every function works inside one newsroom: a comment or commenter of another newsroom is the same as one that
never existed (404 / `not_found`), never touched. Every decision writes a `moderation_log` row (who, when,
why, from and to which status) in the same transaction as the change. Changes readers can see are committed
first and announced to the workers second (`Notifier.announce`); an announcement the broker does not confirm
answers 503 and is sent again later, and repeating any of these requests is safe.

Decisions of note:
- Approving a comment that is already approved but was reported marks the reports handled (report_count 0,
  status_at now): it leaves the `reported` queue. Only an approval that makes a comment approved counts
  towards the commenter's approved_count (the first-comment rule).
- A ban rejects the commenter's pending and withheld comments (no moderator would approve them now) and
  refuses their future ones (the rules read `banned_at`); their shown comments stay unless `reject_shown`,
  since a ban is often about what comes next and each shown comment can still be rejected on its own.
- Erasure deletes the commenter; the database cascades to their comments, replies to them and reports.
  The log keeps its rows (ids only) and gains an `erase` row.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.ingest.comments.notify import Notifier
from services.ingest.comments.schemas import (
    MAX_ID,
    BanOut,
    CommentOut,
    CommentPage,
    Decided,
    EraseOut,
    LogEntry,
    LogPage,
    PolicyIn,
    PolicyOut,
    Queue,
)
from shared.comments.policy import article_scope
from shared.comments.tables import (
    SHOWN,
    Comment,
    Commenter,
    CommentPolicy,
    CommentReport,
    ModerationLog,
    Status,
)
from shared.errors import NotFound, Unprocessable

log = structlog.get_logger()

ACTION_STATUS = {"approve": Status.APPROVED, "reject": Status.REJECTED}


@dataclass(frozen=True)
class Moderation:
    """Who decides (`moderator:<name>` or `api:<newsroom>`), for which newsroom, with which clients."""

    session: Session
    notifier: Notifier
    newsroom: str
    actor: str


def api_actor(newsroom: str) -> str:
    """The actor of a decision made with a newsroom key (keys have no names of their own)."""
    return f"api:{newsroom}"


def moderator_actor(username: str) -> str:
    return f"moderator:{username}"


def _now() -> datetime:
    return datetime.now(UTC)


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise _invalid_cursor()
    return values


def _invalid_cursor() -> Unprocessable:
    return Unprocessable("Invalid cursor.", extra={"errors": [{"pointer": "/cursor", "detail": "invalid"}]})


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise _invalid_cursor() from None


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise _invalid_cursor()
    return value


def _queue_filter(queue: Queue) -> ColumnElement[bool] | None:
    if queue == "pending":
        return Comment.status == Status.PENDING
    if queue == "withheld":
        return Comment.status == Status.WITHHELD
    if queue == "rejected":
        return Comment.status == Status.REJECTED
    if queue == "reported":
        return and_(Comment.status.in_(SHOWN), Comment.report_count > 0)
    return None


_Row = Select[Comment, datetime | None]


def _ordered(stmt: _Row, queue: Queue, cursor: str | None) -> _Row:
    """Keyset pagination: work queues oldest first (the reported one most reported first), the rest newest first."""
    key = tuple_(Comment.created_at, Comment.id)
    if queue == "reported":
        if cursor:
            count, at, last = _decode_cursor(cursor, 3)
            stmt = stmt.where(
                or_(
                    Comment.report_count < _int(count),
                    and_(Comment.report_count == _int(count), key > tuple_(_timestamp(at), _int(last))),
                )
            )
        return stmt.order_by(Comment.report_count.desc(), Comment.created_at, Comment.id)
    newest_first = queue in ("rejected", "all")
    if cursor:
        at, last = _decode_cursor(cursor, 2)
        bound = tuple_(_timestamp(at), _int(last))
        stmt = stmt.where(key < bound if newest_first else key > bound)
    if newest_first:
        return stmt.order_by(Comment.created_at.desc(), Comment.id.desc())
    return stmt.order_by(Comment.created_at, Comment.id)


def _reasons(session: Session, comments: Sequence[Comment]) -> dict[int, dict[str, int]]:
    """Reports since each comment's last decision, by reason: one grouped query for the page."""
    if not comments:
        return {}
    rows = session.execute(
        select(CommentReport.comment_id, CommentReport.reason, func.count())
        .join(Comment, Comment.id == CommentReport.comment_id)
        .where(CommentReport.comment_id.in_([c.id for c in comments]), CommentReport.created_at >= Comment.status_at)
        .group_by(CommentReport.comment_id, CommentReport.reason)
    )
    reasons: dict[int, dict[str, int]] = {}
    for comment_id, reason, count in rows:
        reasons.setdefault(comment_id, {})[reason] = count
    return reasons


def list_queue(*, session: Session, newsroom: str, queue: Queue, cursor: str | None, limit: int) -> CommentPage:
    """One page of a newsroom's moderation queue, with the next page's cursor."""
    stmt = (
        select(Comment, Commenter.banned_at)
        .join(Commenter, Commenter.id == Comment.commenter_id)
        .where(Comment.newsroom == newsroom)
    )
    where = _queue_filter(queue)
    if where is not None:
        stmt = stmt.where(where)
    rows = session.execute(_ordered(stmt, queue, cursor).limit(limit + 1)).all()
    page = rows[:limit]
    comments = [row[0] for row in page]
    reasons = _reasons(session, comments)
    items = [
        CommentOut(
            id=c.id,
            article_uid=c.article_uid,
            parent_id=c.parent_id,
            commenter_id=c.commenter_id,
            commenter_banned=banned_at is not None,
            author_name=c.author_name,
            body=c.body,
            status=c.status,
            status_by=c.status_by,
            status_at=c.status_at,
            report_count=c.report_count,
            reasons=reasons.get(c.id, {}),
            created_at=c.created_at,
        )
        for c, banned_at in page
    ]
    next_cursor = None
    if len(rows) > limit:
        last = comments[-1]
        key = [last.created_at.isoformat(), last.id]
        next_cursor = _encode_cursor([last.report_count, *key] if queue == "reported" else key)
    return CommentPage(queue=queue, items=items, next_cursor=next_cursor)


def queue_sizes(*, session: Session) -> dict[tuple[str, str], int]:
    """(newsroom, queue) -> comments waiting, for the gauges: two grouped counts on the status index."""
    sizes: dict[tuple[str, str], int] = {}
    waiting = session.execute(
        select(Comment.newsroom, Comment.status, func.count())
        .where(Comment.status.in_((Status.PENDING, Status.WITHHELD)))
        .group_by(Comment.newsroom, Comment.status)
    )
    for newsroom, status, count in waiting:
        sizes[(newsroom, status)] = count
    reported = session.execute(
        select(Comment.newsroom, func.count())
        .where(Comment.status.in_(SHOWN), Comment.report_count > 0)
        .group_by(Comment.newsroom)
    )
    for newsroom, count in reported:
        sizes[(newsroom, "reported")] = count
    return sizes


def _log(
    m: Moderation,
    *,
    action: str,
    reason: str | None,
    comment_id: int | None = None,
    commenter_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    m.session.add(
        ModerationLog(
            newsroom=m.newsroom,
            comment_id=comment_id,
            commenter_id=commenter_id,
            action=action,
            actor=m.actor,
            reason=reason,
            from_status=from_status,
            to_status=to_status,
        )
    )


def _set_status(m: Moderation, comment: Comment, status: Status, *, action: str, reason: str | None) -> None:
    _log(
        m,
        action=action,
        reason=reason,
        comment_id=comment.id,
        commenter_id=comment.commenter_id,
        from_status=comment.status,
        to_status=status,
    )
    comment.status = status
    comment.status_by = m.actor[:80]
    comment.status_at = _now()


def decide(*, m: Moderation, action: str, ids: Sequence[int], reason: str | None) -> list[Decided]:
    """Approve or reject these comments of the newsroom; one result per id, in the request's order.

    Ids of other newsrooms are `not_found` and never read further. The threads of every found comment are
    announced, changed or not, so a repeated request also repeats an announcement that failed.
    """
    target = ACTION_STATUS[action]
    wanted = list(dict.fromkeys(ids))
    found = {
        c.id: c
        for c in m.session.scalars(
            select(Comment)
            .where(Comment.newsroom == m.newsroom, Comment.id.in_(wanted))
            .order_by(Comment.id)  # rows locked in one order: two bulk decisions never deadlock
            .with_for_update()
        )
    }
    results: dict[int, Decided] = {}
    approved_by_commenter: dict[int, int] = {}
    for comment_id in wanted:
        comment = found.get(comment_id)
        if comment is None:
            results[comment_id] = Decided(id=comment_id, result="not_found")
            continue
        reported = target == Status.APPROVED and comment.report_count > 0
        if comment.status == target and not reported:
            results[comment_id] = Decided(id=comment_id, result="unchanged", status=comment.status)
            continue
        if target == Status.APPROVED and comment.status != Status.APPROVED:
            approved_by_commenter[comment.commenter_id] = approved_by_commenter.get(comment.commenter_id, 0) + 1
        _set_status(m, comment, target, action=action, reason=reason)
        if target == Status.APPROVED:
            comment.report_count = 0  # the reports are handled; newer ones count from status_at
        results[comment_id] = Decided(
            id=comment_id, result="approved" if target == Status.APPROVED else "rejected", status=target
        )
    for commenter_id, count in approved_by_commenter.items():
        m.session.execute(
            update(Commenter)
            .where(Commenter.id == commenter_id)
            .values(approved_count=Commenter.approved_count + count)
        )
    m.session.commit()
    log.info(
        "comments.decided",
        newsroom=m.newsroom,
        action=action,
        changed=sum(r.result in ("approved", "rejected") for r in results.values()),
        not_found=sum(r.result == "not_found" for r in results.values()),
    )
    m.notifier.announce({c.article_uid for c in found.values()})
    return [results[i] for i in ids]


def decide_one(*, m: Moderation, action: str, comment_id: int, reason: str | None) -> Decided:
    """One comment's decision; 404 when the newsroom has no such comment."""
    (result,) = decide(m=m, action=action, ids=[comment_id], reason=reason)
    if result.result == "not_found":
        raise NotFound(f"No comment {comment_id} for this newsroom.")
    return result


def _commenter(m: Moderation, commenter_id: int) -> Commenter:
    commenter = m.session.scalar(
        select(Commenter).where(Commenter.id == commenter_id, Commenter.newsroom == m.newsroom).with_for_update()
    )
    if commenter is None:
        raise NotFound(f"No commenter {commenter_id} for this newsroom.")
    return commenter


def ban(*, m: Moderation, commenter_id: int, reason: str | None, reject_shown: bool = False) -> BanOut:
    """Ban a commenter: future comments refused, pending and withheld ones rejected (shown ones if asked)."""
    commenter = _commenter(m, commenter_id)
    if commenter.banned_at is None:
        commenter.banned_at = _now()
        _log(m, action="ban", reason=reason, commenter_id=commenter.id)
    statuses = [Status.PENDING, Status.WITHHELD, *(SHOWN if reject_shown else ())]
    comments = m.session.scalars(
        select(Comment)
        .where(Comment.commenter_id == commenter.id, Comment.status.in_(statuses))
        .order_by(Comment.id)
        .with_for_update()
    ).all()
    shown_threads = {c.article_uid for c in comments if c.status in SHOWN}
    for comment in comments:
        _set_status(m, comment, Status.REJECTED, action="reject", reason=reason or "ban")
    banned_at = commenter.banned_at
    m.session.commit()
    log.info("comments.commenter_banned", newsroom=m.newsroom, commenter_id=commenter_id, rejected=len(comments))
    m.notifier.announce(shown_threads)
    return BanOut(commenter_id=commenter_id, banned_at=banned_at, rejected=len(comments))


def unban(*, m: Moderation, commenter_id: int, reason: str | None) -> BanOut:
    """Lift a ban; the comments it rejected stay rejected (approve them one by one if wanted)."""
    commenter = _commenter(m, commenter_id)
    if commenter.banned_at is not None:
        commenter.banned_at = None
        _log(m, action="unban", reason=reason, commenter_id=commenter.id)
    m.session.commit()
    log.info("comments.commenter_unbanned", newsroom=m.newsroom, commenter_id=commenter_id)
    return BanOut(commenter_id=commenter_id, banned_at=None, rejected=0)


def _erase(m: Moderation, commenter: Commenter, reason: str | None) -> EraseOut:
    threads = set(m.session.scalars(select(Comment.article_uid).where(Comment.commenter_id == commenter.id).distinct()))
    count = m.session.scalar(select(func.count()).select_from(Comment).where(Comment.commenter_id == commenter.id))
    commenter_id = commenter.id
    _log(m, action="erase", reason=reason, commenter_id=commenter_id)
    # The database cascades: their comments, replies to those, and reports on them.
    m.session.execute(delete(Commenter).where(Commenter.id == commenter_id))
    m.session.commit()
    log.info("comments.commenter_erased", newsroom=m.newsroom, commenter_id=commenter_id, comments=count)
    m.notifier.announce(threads)
    return EraseOut(erased=True, commenter_id=commenter_id, comments=count or 0)


def erase(*, m: Moderation, commenter_id: int, reason: str | None) -> EraseOut:
    """Erase a commenter and everything they wrote; repeating it answers the same, 404 for an unknown id."""
    commenter = m.session.scalar(
        select(Commenter).where(Commenter.id == commenter_id, Commenter.newsroom == m.newsroom).with_for_update()
    )
    if commenter is not None:
        return _erase(m, commenter, reason)
    erased_before = m.session.scalar(
        select(ModerationLog.id).where(
            ModerationLog.newsroom == m.newsroom,
            ModerationLog.commenter_id == commenter_id,
            ModerationLog.action == "erase",
        )
    )
    if erased_before is None:
        raise NotFound(f"No commenter {commenter_id} for this newsroom.")
    m.notifier.announce([])  # a send an earlier attempt could not make
    return EraseOut(erased=True, commenter_id=commenter_id, comments=0)


def erase_by_email(*, m: Moderation, email_hash: bytes, reason: str | None) -> EraseOut:
    """Erase the commenter known by this email's keyed hash; `erased: false` when there is none."""
    commenter = m.session.scalar(
        select(Commenter).where(Commenter.newsroom == m.newsroom, Commenter.email_hash == email_hash).with_for_update()
    )
    if commenter is None:
        m.session.rollback()
        m.notifier.announce([])
        return EraseOut(erased=False, commenter_id=None, comments=0)
    return _erase(m, commenter, reason)


def ban_author(*, m: Moderation, comment_id: int, reason: str | None) -> int:
    """The page's "Blokir" on one comment: ban its author and reject that comment, whatever its status.

    Returns how many comments it rejected."""
    commenter_id = m.session.scalar(
        select(Comment.commenter_id).where(Comment.id == comment_id, Comment.newsroom == m.newsroom)
    )
    if commenter_id is None:
        raise NotFound(f"No comment {comment_id} for this newsroom.")
    banned = ban(m=m, commenter_id=commenter_id, reason=reason)
    (result,) = decide(m=m, action="reject", ids=[comment_id], reason=reason or "ban")
    return banned.rejected + (result.result == "rejected")


def apply_form(*, m: Moderation, command: str, ids: Sequence[int]) -> int:
    """The moderation page's buttons: `approve`/`reject` (the ticked ids), `approve:<id>`, `reject:<id>`,
    `ban:<comment id>`. Returns how many comments it changed; an unknown command or id changes nothing."""
    action, _, target = command.partition(":")
    ids = [i for i in ids if 1 <= i <= MAX_ID]
    if target:
        if not target.isdigit() or not 1 <= int(target) <= MAX_ID:
            raise Unprocessable("Unknown action.")
        if action == "ban":
            return ban_author(m=m, comment_id=int(target), reason=None)
        ids = [int(target)]
    if action not in ACTION_STATUS or not ids:
        raise Unprocessable("Unknown action, or no comment chosen.")
    results = decide(m=m, action=action, ids=ids, reason=None)
    return sum(r.result in ("approved", "rejected") for r in results)


def _policy_out(scope: str, row: CommentPolicy | None) -> PolicyOut:
    if row is None:
        return PolicyOut(scope=scope, mode=None, closed=None, close_after_days=None, banned_words=None, updated_at=None)
    return PolicyOut(
        scope=scope,
        mode=row.mode,  # type: ignore[arg-type]  # the check constraint keeps it a Mode
        closed=row.closed,
        close_after_days=row.close_after_days,
        banned_words=row.banned_words,
        updated_at=row.updated_at,
    )


def get_policy(*, session: Session, newsroom: str, scope: str) -> PolicyOut:
    """The newsroom's settings at this scope as stored (null: inherited from a wider scope)."""
    row = session.get(CommentPolicy, (newsroom, scope))
    return _policy_out(scope, row)


def _article_of(scope: str) -> str | None:
    kind, _, value = scope.partition(":")
    return value if kind == "article" else None


def _words(words: list[str] | None) -> list[str] | None:
    if words is None:
        return None
    return list(dict.fromkeys(w.strip().lower() for w in words if w.strip()))


def _upsert_policy(m: Moderation, scope: str, values: dict[str, Any]) -> CommentPolicy:
    stmt = insert(CommentPolicy).values(newsroom=m.newsroom, scope=scope, updated_at=func.now(), **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CommentPolicy.newsroom, CommentPolicy.scope],
        set_={**values, "updated_at": func.now()},
    )
    m.session.execute(stmt)
    row = m.session.get(CommentPolicy, (m.newsroom, scope), populate_existing=True)
    assert row is not None
    return row


def put_policy(*, m: Moderation, scope: str, body: PolicyIn) -> PolicyOut:
    """Replace the settings at one scope (null fields inherit); an article's thread is refreshed at once.

    Newsroom and section scopes reach the pages as they are next rendered (Kabar cannot list every thread).
    """
    values = {
        "mode": body.mode.value if body.mode else None,
        "closed": body.closed,
        "close_after_days": body.close_after_days,
        "banned_words": _words(body.banned_words),
    }
    row = _upsert_policy(m, scope, values)
    out = _policy_out(scope, row)
    _log(m, action="policy", reason=f"{scope}: {body.reason}" if body.reason else scope)
    m.session.commit()
    log.info("comments.policy_set", newsroom=m.newsroom, scope=scope)
    article = _article_of(scope)
    m.notifier.announce([article] if article else [])
    return out


def set_thread_closed(*, m: Moderation, article_uid: str, closed: bool, reason: str | None) -> PolicyOut:
    """Close or reopen one article's thread (its `article:<uid>` policy), keeping the scope's other settings."""
    scope = article_scope(article_uid)
    row = _upsert_policy(m, scope, {"closed": closed})
    out = _policy_out(scope, row)
    _log(m, action="close" if closed else "open", reason=f"{scope}: {reason}" if reason else scope)
    m.session.commit()
    log.info("comments.thread_closed" if closed else "comments.thread_opened", newsroom=m.newsroom, scope=scope)
    m.notifier.announce([article_uid])
    return out


def list_log(
    *,
    session: Session,
    newsroom: str,
    cursor: str | None,
    limit: int,
    comment_id: int | None = None,
    commenter_id: int | None = None,
) -> LogPage:
    """The newsroom's decisions, newest first."""
    stmt = select(ModerationLog).where(ModerationLog.newsroom == newsroom)
    if comment_id is not None:
        stmt = stmt.where(ModerationLog.comment_id == comment_id)
    if commenter_id is not None:
        stmt = stmt.where(ModerationLog.commenter_id == commenter_id)
    if cursor:
        (last,) = _decode_cursor(cursor, 1)
        stmt = stmt.where(ModerationLog.id < _int(last))
    rows = session.scalars(stmt.order_by(ModerationLog.id.desc()).limit(limit + 1)).all()
    items = [
        LogEntry(
            id=r.id,
            comment_id=r.comment_id,
            commenter_id=r.commenter_id,
            action=r.action,
            actor=r.actor,
            reason=r.reason,
            from_status=r.from_status,
            to_status=r.to_status,
            at=r.at,
        )
        for r in rows[:limit]
    ]
    return LogPage(items=items, next_cursor=_encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None)
