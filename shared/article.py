"""An article's text and identity, decided once at ingest and carried in the event to every later step.

Ingest sanitises the newsroom's body and hashes it (`normalise`, cheap enough to run before the replay
check), then works out everything readers and search see (`prepare`): the title without markup, the
body without page furniture or the editors' inline "Baca juga" lines, its plain text, the links those
lines named, the slug and the URL path. The worker maps the result to a document; publish renders it.
A V1 event, which carried only the normalised payload, is brought to this form by the same `prepare`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from shared.models import JAKARTA, ArticleIn, ArticlePayload, Correction, Image, RelatedRef, article_uid
from shared.text import body_to_safe_html, clean_body, remove_boilerplate, slugify, strip_tags

DEFAULT_SECTION = "berita"


class EditorLink(BaseModel):
    """A related article the editors named: in the request (`related`) or inline in the body."""

    external_id: str | None = None
    url: str | None = None
    title: str | None = None
    # Only inline links say so; the stored shape of an explicit one is the newsroom's ref as sent.
    inline: bool | None = None
    # An inline link whose title still stands in body_text: where (shared.text.cut_inline_link takes it
    # out once the title is resolved).
    offset: int | None = None


class PreparedArticle(BaseModel):
    """The article as readers and search see it: every fact about its text and identity, worked out once."""

    uid: str
    newsroom: str
    external_id: str
    title: str = Field(description="Plain text: markup stripped, entities decoded.")
    dek: str | None = None
    body_html: str = Field(description="Sanitised, balanced HTML exactly as the page shows it.")
    body_text: str = Field(description="What search indexes: the shown body as plain text.")
    section: str | None = None
    section_slug: str
    slug: str
    path: str = Field(description="The reader URL path; ingest answers it and the index stores it.")
    tags: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    byline: str | None = None
    dateline: str | None = None
    language: str = "id"
    published_at: datetime
    updated_at: datetime | None = None
    embargo_until: datetime | None = Field(default=None, description="Hidden from readers before this time.")
    corrections: list[Correction] = Field(
        default_factory=list,
        description="As sent; a note without a time gets one when indexed (services/index/indexing/indexer.py).",
    )
    canonical_url: str | None = None
    source: str | None = None
    images: list[Image] = Field(default_factory=list)
    editor_links: list[EditorLink] = Field(default_factory=list)
    version: int
    content_hash: str


def normalise(*, newsroom: str, article: ArticleIn, version: int) -> ArticlePayload:
    """The newsroom's article with sanitised HTML, aware dates and merged related refs, and its content hash."""
    body_html = body_to_safe_html(body=article.body, paragraphs=article.body_paragraphs)
    related = list(article.related) + [RelatedRef(title=t) for t in article.editor_related_titles]
    fields = article.model_dump(
        mode="json", exclude={"body", "body_paragraphs", "related", "editor_related_titles", "version", "note"}
    )
    content_hash = hashlib.sha256(
        json.dumps(
            {**fields, "body_html": body_html, "related": [r.model_dump() for r in related]},
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    return ArticlePayload(
        **{
            **fields,
            # Filled in after hashing: resending the same article must hash the same. An embargoed story is
            # published when its embargo lifts, unless the newsroom says otherwise.
            "published_at": article.published_at or article.embargo_until or datetime.now(UTC),
            "embargo_until": _to_next_millisecond(article.embargo_until),
            "canonical_url": str(article.canonical_url) if article.canonical_url else None,
        },
        uid=article_uid(newsroom, article.external_id),
        newsroom=newsroom,
        body_html=body_html,
        related=related,
        version=version,
        content_hash=content_hash,
    )


def _to_next_millisecond(value: datetime | None) -> datetime | None:
    """Elasticsearch keeps dates to the millisecond: rounded down, an embargo could lift up to 1 ms early."""
    if value is None or not value.microsecond % 1000:
        return value
    return value + timedelta(microseconds=1000 - value.microsecond % 1000)


def prepare(payload: ArticlePayload) -> PreparedArticle:
    """Everything readers and search see of a normalised article (a V1 event's payload is one)."""
    title = strip_tags(payload.title)
    body = clean_body(payload.body_html, title=title, section=payload.section)
    links = [EditorLink(**ref.model_dump()) for ref in payload.related]
    links += [EditorLink(title=link.text, url=link.href, inline=True, offset=link.offset) for link in body.links]
    section_slug = slugify(payload.section or DEFAULT_SECTION, max_length=40)
    slug = slugify(title)
    return PreparedArticle(
        uid=payload.uid,
        newsroom=payload.newsroom,
        external_id=payload.external_id,
        title=title,
        dek=remove_boilerplate(strip_tags(payload.dek)) if payload.dek else None,
        body_html=body.html,
        body_text=body.text,
        section=payload.section,
        section_slug=section_slug,
        slug=slug,
        path=_path(uid=payload.uid, section_slug=section_slug, slug=slug, published_at=payload.published_at),
        tags=payload.tags,
        authors=payload.authors,
        byline=payload.byline,
        dateline=payload.dateline,
        language=payload.language,
        published_at=payload.published_at,
        updated_at=payload.updated_at,
        embargo_until=payload.embargo_until,
        corrections=payload.corrections,
        canonical_url=payload.canonical_url,
        source=payload.source,
        images=payload.images,
        editor_links=links,
        version=payload.version,
        content_hash=payload.content_hash,
    )


def prepare_article(*, newsroom: str, article: ArticleIn, version: int) -> PreparedArticle:
    """A newsroom's article, prepared: what ingest puts in the event."""
    return prepare(normalise(newsroom=newsroom, article=article, version=version))


def _path(*, uid: str, section_slug: str, slug: str, published_at: datetime) -> str:
    """Section, local date and slug, ending in the uid that finds the article.

    Publish looks an article up by the uid alone and 301s any other path to this one, so a changed
    title (new slug) keeps every old URL working.
    """
    return f"/{section_slug}/{published_at.astimezone(JAKARTA):%Y/%m/%d}/{slug}-{uid}"
