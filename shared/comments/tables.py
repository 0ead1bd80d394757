"""Reader comments in PostgreSQL: Kabar is their only copy (articles can be re-sent by a newsroom; comments not).

Statuses follow Coral Talk's: a comment is `visible` (post-moderation: shown until a moderator says otherwise),
`pending` (pre-moderation: shown once approved), `approved`, `rejected`, or `withheld` by a rule. Each carries
the rule or moderator that set it and when. Nothing personal is stored in the clear: the commenter's email and
the reader's address are keyed hashes (enough to count, rate-limit and ban), and the display name is the one
the reader typed for the public page.

The migrations under `migrations/` build these tables; a test compares the two so they cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names stated once, so migrations and models name them alike.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Status(StrEnum):
    VISIBLE = "visible"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHHELD = "withheld"


# What readers see: shown at once (post-moderation) or after a moderator's approval.
SHOWN = (Status.VISIBLE, Status.APPROVED)


class ReportReason(StrEnum):
    OFFENSIVE = "offensive"
    ABUSIVE = "abusive"
    SPAM = "spam"
    OTHER = "other"


class Mode(StrEnum):
    PRE = "pre"  # held until a moderator approves
    POST = "post"  # shown at once, moderated afterwards


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Commenter(Base):
    """One reader in one newsroom, known only by a keyed hash of their email."""

    __tablename__ = "commenters"
    __table_args__ = (UniqueConstraint("newsroom", "email_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    newsroom: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Comments a moderator approved: the first ones of a new commenter are held.
    approved_count: Mapped[int] = mapped_column(Integer, server_default="0")
    banned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint(_in("status", Status), name="status"),
        CheckConstraint("char_length(body) > 0", name="body"),
        # A thread page: the shown comments of one article, oldest or newest first.
        Index(None, "article_uid", "status", "created_at", "id"),
        # Moderation queues: one newsroom's comments by status, oldest first.
        Index(None, "newsroom", "status", "created_at"),
        Index(None, "commenter_id", "created_at"),
        Index(None, "address_hash", "created_at"),
        Index(None, "newsroom", "body_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The submission's id: a redelivered moderation task or a resent form never makes a second comment.
    submission_id: Mapped[str] = mapped_column(String(36), unique=True)
    newsroom: Mapped[str] = mapped_column(String(64))
    article_uid: Mapped[str] = mapped_column(String(64))
    # One level of replies (Ghost's rule): a reply's parent is a top-level comment, checked on submission.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    commenter_id: Mapped[int] = mapped_column(ForeignKey("commenters.id", ondelete="CASCADE"))
    author_name: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)  # plain text as the reader typed it; escaped when rendered
    body_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # normalised text, for the repeated-text rule
    address_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16))
    status_by: Mapped[str] = mapped_column(String(80))  # "rule:<name>" or "moderator:<name>"
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    report_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CommentReport(Base):
    """A reader's report; one per comment and reader (address hash)."""

    __tablename__ = "comment_reports"
    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_hash"),
        CheckConstraint(_in("reason", ReportReason), name="reason"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    reporter_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ModerationLog(Base):
    """Every decision, by a rule or a moderator: who, when, why. Ids only, so an erasure leaves it lawful."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index(None, "newsroom", "at"), Index(None, "comment_id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    newsroom: Mapped[str] = mapped_column(String(64))
    comment_id: Mapped[int | None] = mapped_column(BigInteger)  # kept after the comment is deleted
    commenter_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(24))  # approve, reject, withhold, ban, unban, erase, ...
    actor: Mapped[str] = mapped_column(String(80))  # "rule:<name>" or "moderator:<name>"
    reason: Mapped[str | None] = mapped_column(String(500))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CommentPolicy(Base):
    """A newsroom's comment settings at one scope: `newsroom`, `section:<slug>` or `article:<uid>`.

    The narrowest scope that sets a field wins (article, then section, then newsroom, then Kabar's defaults).
    """

    __tablename__ = "comment_policies"
    __table_args__ = (CheckConstraint("mode IS NULL OR " + _in("mode", Mode), name="mode"),)

    newsroom: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    mode: Mapped[str | None] = mapped_column(String(4))
    closed: Mapped[bool | None] = mapped_column(Boolean)
    close_after_days: Mapped[int | None] = mapped_column(Integer)
    banned_words: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Moderator(Base):
    """A person who moderates one newsroom's comments on the moderation page (`kabar moderators add`).

    The moderation API needs none: it is the newsroom's system, authenticated by the newsroom's key.
    """

    __tablename__ = "moderators"
    __table_args__ = (UniqueConstraint("newsroom", "username"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    newsroom: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))  # hashlib.scrypt, with its parameters and salt
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
