"""Response models of the reader API (they document /openapi.json and trim what is returned)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ArticleSummary(BaseModel):
    uid: str
    title: str | None = None
    dek: str | None = None
    path: str | None = None
    section: str | None = None
    published_at: str | None = None
    authors: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    byline: str | None = None


class SearchResult(ArticleSummary):
    score: float | None = None
    title_html: str | None = Field(default=None, description="Title with <mark> highlights, HTML-escaped.")
    snippet_html: str | None = Field(default=None, description="Body snippet with <mark> highlights, HTML-escaped.")


class FacetValue(BaseModel):
    value: str
    count: int
    selected: bool = False


class SearchResponse(BaseModel):
    q: str
    total: int
    total_is_lower_bound: bool = False
    page: int
    size: int
    pages: int
    sort: str
    filters: dict[str, str]
    results: list[SearchResult]
    facets: dict[str, list[FacetValue]] = Field(description="section, author, tag, source and date counts.")
    did_you_mean: str | None = None


class CorrectionNote(BaseModel):
    kind: str = Field(description="correction (something was wrong) or clarification (an update).")
    text: str
    at: str | None = None


class Article(ArticleSummary):
    url: str
    body_html: str = Field(description="Sanitised at ingest.")
    dateline: str | None = None
    updated_at: str | None = None
    source: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    images: list[dict[str, Any]] = Field(default_factory=list)
    corrections: list[CorrectionNote] = Field(
        default_factory=list, description="Correction and update notes, as the newsroom sent them."
    )


class RelatedItem(BaseModel):
    uid: str
    title: str | None = None
    path: str | None = None
    published_at: str | None = None
    section: str | None = None
    kind: str = Field(description="editor (chosen by the newsroom) or computed.")


class RelatedResponse(BaseModel):
    uid: str
    items: list[RelatedItem]


class Suggestion(BaseModel):
    title: str
    path: str
    uid: str


class SuggestResponse(BaseModel):
    q: str
    suggestions: list[Suggestion]
