"""Request and response bodies of the moderation API. Ids only: no hash ever leaves the database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.comments.tables import Mode
from shared.models import NO_CONTROL

Queue = Literal["pending", "withheld", "reported", "rejected", "all"]
Action = Literal["approve", "reject"]
# PostgreSQL text cannot hold NUL, and no reason needs control characters: refused with a pointer.
Reason = Annotated[str | None, Field(max_length=500, pattern=NO_CONTROL)]
Word = Annotated[str, Field(max_length=100, pattern=NO_CONTROL)]

# `newsroom`, `section:<slug>` or `article:<uid>` (shared.comments.policy); no blanks, slashes or controls.
SCOPE_PATTERN = r"^(newsroom|section:[^\s/\x00-\x1f]{1,100}|article:[^\s/\x00-\x1f]{1,64})$"
MAX_BULK_IDS = 500
MAX_ID = 2**63 - 1  # bigint
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class CommentOut(BaseModel):
    id: int
    article_uid: str
    parent_id: int | None
    commenter_id: int
    commenter_banned: bool
    author_name: str
    body: str
    status: str
    status_by: str
    status_at: datetime
    report_count: int
    # Reports since the last decision, by reason (offensive, abusive, spam, other).
    reasons: dict[str, int]
    created_at: datetime


class CommentPage(BaseModel):
    queue: Queue
    items: list[CommentOut]
    # Pass as `cursor` for the next page; null on the last one.
    next_cursor: str | None


class DecisionIn(BaseModel):
    reason: Reason = None


class Decided(BaseModel):
    id: int
    # approved / rejected: this request changed it; unchanged: it already had that status; not_found: no such
    # comment in this newsroom (another newsroom's id is the same as one that never existed).
    result: Literal["approved", "rejected", "unchanged", "not_found"]
    status: str | None = None


class BulkIn(BaseModel):
    action: Action
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK_IDS)
    reason: Reason = None


class BulkOut(BaseModel):
    items: list[Decided]
    changed: int
    unchanged: int
    not_found: int


class BanIn(BaseModel):
    reason: Reason = None
    # The commenter's pending and withheld comments are always rejected; their shown ones only when asked.
    reject_shown: bool = False


class BanOut(BaseModel):
    commenter_id: int
    banned_at: datetime | None
    rejected: int


class EraseIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=NO_CONTROL)
    reason: Reason = None


class EraseOut(BaseModel):
    erased: bool
    commenter_id: int | None
    comments: int


class PolicyIn(BaseModel):
    """A field left null is inherited from the wider scope (article, then section, then newsroom, then Kabar's)."""

    mode: Mode | None = None
    closed: bool | None = None
    close_after_days: int | None = Field(default=None, ge=0, le=36_500)
    banned_words: list[Word] | None = Field(default=None, max_length=2000)
    reason: Annotated[str | None, Field(max_length=400, pattern=NO_CONTROL)] = None


class PolicyOut(BaseModel):
    scope: str
    mode: Mode | None
    closed: bool | None
    close_after_days: int | None
    banned_words: list[str] | None
    updated_at: datetime | None


class LogEntry(BaseModel):
    id: int
    comment_id: int | None
    commenter_id: int | None
    action: str
    actor: str
    reason: str | None
    from_status: str | None
    to_status: str | None
    at: datetime


class LogPage(BaseModel):
    items: list[LogEntry]
    next_cursor: str | None
