"""Versioned event contracts between ingest and the index workers.

Ingest sends these as Celery task kwargs by task name; it never imports worker code. A consumer
accepts every schema version it knows and refuses the rest, so a rolling deploy never misreads one:
`ArticleEvent` (V2) reads a V1 message as the V2 event it stands for.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, model_validator

from shared.article import PreparedArticle, prepare
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


class _ArticleEventFields(BaseModel):
    """What every version of the article event says about the change itself.

    `revision` is Kabar's own per-article sequence, assigned at ingest: it is the Elasticsearch
    external version, so replays and out-of-order deliveries can never move an article backwards.
    """

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    op: Operation
    uid: str
    newsroom: str
    external_id: str
    revision: int = Field(ge=1)
    version: int = Field(ge=1)
    accepted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None


class ArticleEventV1(_ArticleEventFields):
    """One change to one article, carrying the normalised (sanitised, not yet prepared) payload."""

    schema_version: Literal[1] = 1
    article: ArticlePayload | None = None

    def upgrade(self) -> ArticleEventV2:
        """The V2 event this one stands for: its article prepared by the very function ingest now calls."""
        fields = {name: getattr(self, name) for name in _ArticleEventFields.model_fields}
        return ArticleEventV2(**fields, article=prepare(self.article) if self.article else None)


class ArticleEventV2(_ArticleEventFields):
    """One change to one article, carrying the article as readers and search will see it."""

    schema_version: Literal[2] = 2
    article: PreparedArticle | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_v1(cls, data: Any) -> Any:
        """Read a V1 event as the V2 event it stands for.

        V1 messages queued before the deploy that brought V2 are still delivered to new workers; an
        in-process builder still handing over a V1 payload (a bench) gets the same conversion.
        """
        if isinstance(data, dict) and (
            data.get("schema_version") == 1 or isinstance(data.get("article"), ArticlePayload)
        ):
            upgraded = ArticleEventV1.model_validate({**data, "schema_version": 1}).upgrade()
            return {name: getattr(upgraded, name) for name in ArticleEventV2.model_fields}
        return data


ArticleEvent = ArticleEventV2


class ChangeKind(StrEnum):
    """What readers were just able (or no longer able) to see of an article."""

    PUBLISHED = "published"
    UPDATED = "updated"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


class ArticleChangeV1(BaseModel):
    """A change readers can see, told to the outside world (webhooks, WebSub, IndexNow).

    Made by the index worker once the change is applied (or, for an embargoed story, when the embargo
    lifts); never for a change readers cannot see (an embargoed update, a stale replay). The event id is
    the same however often the change is told (a redelivered batch, a repeated release), so subscribers
    can drop repeats; `revision` orders one article's changes.
    """

    schema_version: Literal[1] = 1
    kind: ChangeKind
    uid: str
    newsroom: str
    external_id: str
    revision: int = Field(ge=1)
    version: int = Field(ge=1)
    path: str | None = None
    title: str | None = None
    section_slug: str | None = None
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, event: _ArticleEventFields, kind: ChangeKind, doc: dict[str, Any]) -> ArticleChangeV1:
        """The outside world's view of one applied change: the event's identity, the document's names."""
        return cls(
            kind=kind,
            uid=event.uid,
            newsroom=event.newsroom,
            external_id=event.external_id,
            revision=event.revision,
            version=event.version,
            path=doc.get("path"),
            title=doc.get("title"),
            section_slug=doc.get("section_slug"),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def event_id(self) -> str:
        return f"{self.uid}-{self.revision}-{self.kind.value}"


ArticleChange = ArticleChangeV1
