"""Reads of comments from PostgreSQL (synchronous: callers run them in a thread, off the event loop).

Every thread read goes through the (article_uid, status, created_at, id) index: one page of top-level
comments and their replies costs the same whatever the thread's length.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from shared.comments.policy import ThreadPolicy, thread_policy
from shared.comments.tables import SHOWN, Comment
from shared.settings import KabarSettings

Order = Literal["lama", "baru"]  # oldest first (the default) or newest first


@dataclass(frozen=True)
class ShownComment:
    id: int
    parent_id: int | None
    author_name: str
    body: str
    created_at: datetime
    replies: list[ShownComment] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadPage:
    total: int  # shown comments, replies included ("12 Komentar")
    top_level: int
    comments: list[ShownComment]
    policy: ThreadPolicy


@dataclass(frozen=True)
class Submission:
    id: int
    article_uid: str
    parent_id: int | None
    status: str
    author_name: str
    body: str
    created_at: datetime


_COLUMNS = (Comment.id, Comment.parent_id, Comment.author_name, Comment.body, Comment.created_at)
_SHOWN = [s.value for s in SHOWN]


def read_thread(
    engine: Engine,
    settings: KabarSettings,
    *,
    newsroom: str,
    section: str | None,
    article_uid: str,
    page: int,
    size: int,
    order: Order,
    max_replies: int,
) -> ThreadPage:
    """One page of top-level comments (with up to `max_replies` replies each, oldest first), the counts and the
    thread's policy, on one connection."""
    shown = (Comment.article_uid == article_uid, Comment.status.in_(_SHOWN))
    with Session(engine) as session:
        total, top_level = session.execute(
            select(func.count(), func.count().filter(Comment.parent_id.is_(None))).where(*shown)
        ).one()
        direction = (Comment.created_at.asc(), Comment.id.asc())
        if order == "baru":
            direction = (Comment.created_at.desc(), Comment.id.desc())
        tops = session.execute(
            select(*_COLUMNS)
            .where(*shown, Comment.parent_id.is_(None))
            .order_by(*direction)
            .limit(size)
            .offset((page - 1) * size)
        ).all()
        comments = [ShownComment(*row) for row in tops]
        if comments and total > top_level:
            rank = (
                func.row_number()
                .over(partition_by=Comment.parent_id, order_by=(Comment.created_at, Comment.id))
                .label("rank")
            )
            ranked = select(*_COLUMNS, rank).where(*shown, Comment.parent_id.in_([c.id for c in comments])).subquery()
            by_parent = {c.id: c.replies for c in comments}
            for row in session.execute(
                select(ranked.c.id, ranked.c.parent_id, ranked.c.author_name, ranked.c.body, ranked.c.created_at)
                .where(ranked.c.rank <= max_replies)
                .order_by(ranked.c.created_at, ranked.c.id)
            ):
                by_parent[row.parent_id].append(ShownComment(*row))
        policy = thread_policy(session, settings, newsroom=newsroom, section=section, article_uid=article_uid)
    return ThreadPage(total=total, top_level=top_level, comments=comments, policy=policy)


class PolicyCache:
    """Thread policies kept a few seconds per process (made in the lifespan).

    Every comment POST and form page needs its thread's policy, and reading it was a PostgreSQL round trip
    of each. A newsroom's change (a thread closed) reaches the form this much later; the moderation worker
    decides with the policy as it is when it runs, so nothing posted meanwhile escapes it.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._kept: dict[tuple[str, str | None, str], tuple[float, ThreadPolicy]] = {}

    def read(
        self, engine: Engine, settings: KabarSettings, *, newsroom: str, section: str | None, article_uid: str
    ) -> ThreadPolicy:
        key = (newsroom, section, article_uid)
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        with Session(engine) as session:
            policy = thread_policy(session, settings, newsroom=newsroom, section=section, article_uid=article_uid)
        if len(self._kept) >= self.max_entries:
            self._kept.clear()  # bounded; a burst of distinct threads costs one read each again
        self._kept[key] = (now + self.ttl, policy)
        return policy


def read_submission(engine: Engine, *, submission_id: str) -> Submission | None:
    """The stored comment of one submission, whatever its status (None until the worker stored it)."""
    with Session(engine) as session:
        row = session.execute(
            select(
                Comment.id,
                Comment.article_uid,
                Comment.parent_id,
                Comment.status,
                Comment.author_name,
                Comment.body,
                Comment.created_at,
            ).where(Comment.submission_id == submission_id)
        ).first()
    return Submission(*row) if row else None


def shown_comment_article(engine: Engine, *, comment_id: int) -> str | None:
    """The article of a comment readers can see (the only kind they can report); None for any other."""
    with Session(engine) as session:
        return session.scalar(select(Comment.article_uid).where(Comment.id == comment_id, Comment.status.in_(_SHOWN)))
