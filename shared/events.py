"""Versioned event contracts between ingest and the index workers.

Ingest sends these as Celery task kwargs by task name; it never imports worker code. A consumer
accepts every schema version it knows and refuses the rest, so a rolling deploy never misreads one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from shared.models import ArticlePayload, ArticleStatus


class Operation(StrEnum):
    UPSERT = "upsert"
    WITHDRAW = "withdraw"
    DELETE = "delete"

    @property
    def status(self) -> ArticleStatus:
        """The status an article has once this operation is applied (in state and in Elasticsearch)."""
        return _APPLIED[self]


_APPLIED = {
    Operation.UPSERT: ArticleStatus.PUBLISHED,
    Operation.WITHDRAW: ArticleStatus.WITHDRAWN,
    Operation.DELETE: ArticleStatus.DELETED,
}


class ArticleEventV1(BaseModel):
    """One change to one article.

    `revision` is Kabar's own per-article sequence, assigned at ingest: it is the Elasticsearch
    external version, so replays and out-of-order deliveries can never move an article backwards.
    """

    schema_version: Literal[1] = 1
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    op: Operation
    uid: str
    newsroom: str
    external_id: str
    revision: int = Field(ge=1)
    version: int = Field(ge=1)
    accepted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None
    article: ArticlePayload | None = None


ArticleEvent = ArticleEventV1
