"""Versioned contracts for reader comments: publish sends them to the comments queue, the workers apply them.

Nothing personal travels in clear: publish hashes the email and the address with the deployment's key
(`shared.comments.keys`) before sending, so neither RabbitMQ nor a dead letter ever holds them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.comments.tables import ReportReason

# The form's limits, checked by publish before sending (a 4xx problem) and again by the rules.
MAX_BODY_CHARS = 5000
MAX_NAME_CHARS = 80


class CommentSubmittedV1(BaseModel):
    """One reader's comment on one article, as the form sent it, plus what the rules need of the article."""

    schema_version: Literal[1] = 1
    # Chosen by publish and shown back to the reader: a redelivered task or a resent form stores one comment.
    submission_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=36)
    newsroom: str = Field(min_length=1, max_length=64)
    article_uid: str = Field(min_length=1, max_length=64)
    # The article's section and publication time, as publish saw them: the policy's section scope and the
    # closing age are decided from them without the worker reading the article again.
    section: str | None = Field(default=None, max_length=120)
    published_at: datetime | None = None
    parent_id: int | None = Field(default=None, ge=1)
    author_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    email_hash: str = Field(pattern=r"^[0-9a-f]{64}$")  # hex keyed hash (keys.keyed_hash)
    address_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    submitted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None


class CommentReportedV1(BaseModel):
    """One reader's report of one comment. One per comment and reporter (address hash) counts."""

    schema_version: Literal[1] = 1
    comment_id: int = Field(ge=1)
    reason: ReportReason
    note: str | None = Field(default=None, max_length=500)
    reporter_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    reported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class CommentsChangedV1(BaseModel):
    """Threads whose shown comments may have changed (a moderator's decision, an erasure): the workers
    recount them into Elasticsearch and purge their pages."""

    schema_version: Literal[1] = 1
    article_uids: list[str] = Field(min_length=1, max_length=1000)


# What consumers accept: the newest version of each, by name.
CommentSubmitted = CommentSubmittedV1
CommentReported = CommentReportedV1
CommentsChanged = CommentsChangedV1
