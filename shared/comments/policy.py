"""A newsroom's comment policy for one article: the narrowest scope that sets a field wins.

Scopes are `newsroom`, `section:<slug>` and `article:<uid>` rows of `comment_policies`; a field none of
them sets comes from Kabar's settings (`comment_default_mode`, `comment_close_after_days`) or, for the
banned words, `rules.DEFAULT_BANNED_WORDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.comments.rules import DEFAULT_BANNED_WORDS, Policy
from shared.comments.tables import CommentPolicy, Mode
from shared.settings import KabarSettings

NEWSROOM_SCOPE = "newsroom"


def section_scope(slug: str) -> str:
    return f"section:{slug}"


def article_scope(uid: str) -> str:
    return f"article:{uid}"


@dataclass(frozen=True)
class ThreadPolicy:
    """What applies to one article's thread."""

    mode: Mode
    closed: bool  # set closed by the newsroom (any scope)
    close_after_days: int  # 0: never closes by age
    banned_words: tuple[str, ...]

    def closes_at(self, published_at: datetime | None) -> datetime | None:
        if not self.close_after_days or published_at is None:
            return None
        return published_at + timedelta(days=self.close_after_days)

    def is_open(self, published_at: datetime | None, now: datetime) -> bool:
        closes = self.closes_at(published_at)
        return not self.closed and (closes is None or now < closes)

    def rules_policy(self, settings: KabarSettings) -> Policy:
        return Policy(
            mode=self.mode,
            banned_words=self.banned_words,
            max_per_commenter=settings.comment_max_per_commenter,
            max_per_address=settings.comment_max_per_address,
        )


def scopes(section: str | None, article_uid: str) -> list[str]:
    """Narrowest first."""
    return [article_scope(article_uid), *([section_scope(section)] if section else []), NEWSROOM_SCOPE]


def thread_policy(
    session: Session, settings: KabarSettings, *, newsroom: str, section: str | None, article_uid: str
) -> ThreadPolicy:
    """One query: the rows of the three scopes, folded narrowest first."""
    wanted = scopes(section, article_uid)
    rows = {
        row.scope: row
        for row in session.scalars(
            select(CommentPolicy).where(CommentPolicy.newsroom == newsroom, CommentPolicy.scope.in_(wanted))
        )
    }
    ordered = [rows[scope] for scope in wanted if scope in rows]

    def first(field: str) -> object:
        return next((getattr(row, field) for row in ordered if getattr(row, field) is not None), None)

    mode = first("mode")
    closed = first("closed")
    days = first("close_after_days")
    words = first("banned_words")
    return ThreadPolicy(
        mode=Mode(mode) if isinstance(mode, str) else Mode(settings.comment_default_mode),
        closed=bool(closed),
        close_after_days=days if isinstance(days, int) else settings.comment_close_after_days,
        banned_words=tuple(words) if isinstance(words, list) else DEFAULT_BANNED_WORDS,
    )
