"""Request and response bodies of the newsroom API that are not the shared article model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models import ArticleIn, ArticleStatus

EXAMPLE_ARTICLE: dict[str, Any] = {
    "external_id": "2026-05-29-banjir-jakarta",
    "version": 1,
    "title": "Banjir rendam sejumlah wilayah Jakarta",
    "dek": "Hujan deras sejak dini hari membuat sungai meluap.",
    "body": "<p>Hujan deras sejak dini hari membuat Ciliwung meluap.</p><p>Warga diungsikan.</p>",
    "section": "Metro",
    "tags": ["banjir", "Jakarta"],
    "authors": ["Rina Agustina"],
    "byline": "RAG",
    "published_at": "2026-05-29T07:30:00+07:00",
}


class AcceptedArticle(BaseModel):
    """What Kabar answers for one article write."""

    result: Literal["accepted", "unchanged"]
    uid: str
    external_id: str
    version: int
    revision: int
    status: str
    url: str | None = None


class ArticlePut(ArticleIn):
    """The native article for PUT: external_id comes from the path (if sent, it must match)."""

    external_id: str | None = Field(default=None, max_length=200)  # type: ignore[assignment]


class ProblemItem(BaseModel):
    """One field problem, as an RFC 6901 pointer into the request body."""

    pointer: str
    detail: str


class ItemProblem(BaseModel):
    """Why one bulk item was rejected, shaped like an RFC 9457 problem."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] = Field(default_factory=list)
    stored_version: int | None = None


class BulkItemResult(BaseModel):
    """The outcome of one item of a bulk request, in request order."""

    index: int
    result: Literal["accepted", "unchanged", "rejected"]
    external_id: str | None = None
    uid: str | None = None
    version: int | None = None
    revision: int | None = None
    status: str | None = None
    problem: ItemProblem | None = None


class BulkResult(BaseModel):
    """Counts and per-item results of a bulk request."""

    accepted: int
    unchanged: int
    rejected: int
    items: list[BulkItemResult]
    items_omitted: bool | None = Field(
        default=None,
        description="True on an Idempotency-Key replay whose per-item answers were too large to keep;"
        " GET each article for its state.",
    )


class ArticleStateOut(BaseModel):
    """An article as the newsroom sees it in Kabar's pipeline."""

    model_config = ConfigDict(extra="allow")

    uid: str
    external_id: str
    newsroom: str
    status: ArticleStatus
    version: int
    revision: int
    title: str | None = None
    accepted_at: datetime | None = None
    indexed_at: datetime | None = None
    embargo_until: datetime | None = Field(
        default=None, description="Hidden from readers until then; status is `scheduled` until it lifts."
    )
    url: str | None = Field(default=None, description="The public URL, once readers can see the article.")


class NinjsAccepted(BaseModel):
    """The answer to a ninjs document: what it did, and which ninjs properties Kabar ignored."""

    result: Literal["accepted", "unchanged"]
    action: Literal["upsert", "withdraw", "delete"]
    uid: str
    external_id: str
    version: int
    revision: int
    status: str
    url: str | None = None
    ignored: list[str] = Field(default_factory=list)


class HistoryCorrection(BaseModel):
    """A correction or update note as a revision added it."""

    kind: Literal["correction", "clarification"]
    text: str
    at: datetime | None = None


class HistoryEntry(BaseModel):
    """One revision a worker applied to the article, and what it changed."""

    revision: int
    version: int
    op: Literal["upsert", "withdraw", "delete"]
    accepted_at: datetime | None = Field(default=None, description="When ingest accepted this revision.")
    applied_at: datetime = Field(description="When a worker applied it to the index.")
    request_id: str | None = Field(default=None, description="The X-Request-ID of the write that sent it.")
    changed: list[str] = Field(
        description="Fields that differ from the revision applied before it (title, dek, body_text, section,"
        " tags, authors, images, canonical_url, published_at, embargo_until, corrections, status);"
        ' ["created"] for the article\'s first revision.'
    )
    corrections_added: list[HistoryCorrection] = Field(
        default_factory=list, description="Correction and update notes this revision added."
    )


class ArticleHistoryOut(BaseModel):
    """An article's applied revisions, newest first (the newest 100 are kept, also after a deletion)."""

    uid: str
    external_id: str
    newsroom: str
    entries: list[HistoryEntry]
