"""The article as Kabar understands it, shared by ingest (input), index (documents) and publish (pages)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

# Kabar's one newsroom time zone (WIB): naive times, local dates in URLs, date filters, reader dates.
LOCAL_TZ = "Asia/Jakarta"
JAKARTA = ZoneInfo(LOCAL_TZ)

# Control characters (other than tab and newlines) are never meant in a headline or label, and some
# (U+0000) are refused by Elasticsearch's completion field; the non-characters U+FFFE/U+FFFF cannot be
# carried by XML (feeds, sitemaps). Reject them at the door with a pointer, not later in a worker.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]*$"
ShortText = Annotated[str, Field(min_length=1, max_length=300, pattern=NO_CONTROL)]
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_CONTROL)]
# Kabar's revision puts the version in the high bits of a 63-bit number (see shared/state.py);
# 2**43 still fits epoch milliseconds, a common CMS version scheme, until the year 2248.
MAX_VERSION = 2**43 - 1


class ArticleStatus(StrEnum):
    """Where an article is, in one vocabulary end to end: the ingest API and Redis state say all six;
    an Elasticsearch document's `status` holds the three a worker applies (published/withdrawn/deleted).
    Published, withdrawn and deleted are only ever reported once readers see exactly that: an article
    indexed under an embargo that has not lifted is `scheduled` (its document says published, but every
    reader query hides it until embargo_until)."""

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


# Documents written before the one vocabulary stored the removal operation's name as their status.
LEGACY_DOC_STATUS = {"withdraw": ArticleStatus.WITHDRAWN, "delete": ArticleStatus.DELETED}


class Rendition(BaseModel):
    """One size of an image (a CMS's thumbnail, medium, large...), for the page's `srcset`."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    width: int = Field(ge=1, le=20_000)
    height: int | None = Field(default=None, ge=1, le=20_000)


class Image(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    caption: str | None = Field(default=None, max_length=2000)
    credit: str | None = Field(default=None, max_length=300)
    # Left out of the dump when absent, so an article sent before renditions existed hashes as it did then
    # (a resend with the same version stays `unchanged`, never a conflict).
    renditions: list[Rendition] | None = Field(default=None, max_length=12, exclude_if=lambda value: value is None)


class RelatedRef(BaseModel):
    """An editor-chosen related article, named by any of: Kabar external id, URL or title."""

    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _one_key(self) -> RelatedRef:
        if not (self.external_id or self.url or self.title):
            raise ValueError("a related article needs an external_id, url or title")
        return self


def as_jakarta_aware(value: datetime | None) -> datetime | None:
    """Newsrooms often send local times without an offset; Kabar reads them as Jakarta time.

    Every time Kabar accepts must also exist in UTC (Elasticsearch, feeds) and in Jakarta time (paths,
    pages): `0001-01-01T00:00:00+14:00` or `9999-12-31T23:00:00-05:00` do not, and would fail after
    the article was queued.
    """
    if value is None:
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=JAKARTA)
    try:
        value.astimezone(UTC)
        value.astimezone(JAKARTA)
    except OverflowError as exc:
        raise ValueError("the time is out of range once converted to UTC or Jakarta time") from exc
    return value


class Correction(BaseModel):
    """A note readers see on the article: a correction (something was wrong) or a clarification/update.

    The newsroom sends an article's corrections as a whole with each update, like its tags: the list as
    sent is the list shown. `at` defaults to the update's `updated_at` (or the time Kabar accepted it).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["correction", "clarification"] = "correction"
    text: str = Field(min_length=1, max_length=2000, pattern=NO_CONTROL)
    at: datetime | None = None

    _aware = field_validator("at")(as_jakarta_aware)


class ArticleIn(BaseModel):
    """The native JSON a newsroom sends. Unknown fields are rejected so typos never vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    title: ShortText
    dek: str | None = Field(default=None, max_length=1000, pattern=NO_CONTROL, description="Subtitle / standfirst.")
    body: str | None = Field(default=None, description="HTML or plain text.")
    body_paragraphs: list[str] | None = Field(default=None, description="Alternative to body: one string a paragraph.")
    section: str | None = Field(default=None, max_length=100, pattern=NO_CONTROL)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    authors: list[ShortText] = Field(default_factory=list, max_length=20)
    byline: str | None = Field(
        default=None, max_length=300, pattern=NO_CONTROL, description='Shown as is, e.g. initials "RAG".'
    )
    dateline: str | None = Field(default=None, max_length=200, pattern=NO_CONTROL)
    language: str = Field(default="id", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    published_at: datetime | None = None
    updated_at: datetime | None = None
    embargo_until: datetime | None = Field(
        default=None,
        description="Not shown to readers anywhere before this time; published_at defaults to it.",
    )
    corrections: list[Correction] = Field(
        default_factory=list, max_length=50, description="Every correction and update note, as a whole."
    )
    canonical_url: AnyHttpUrl | None = None
    source: str | None = Field(default=None, max_length=200, pattern=NO_CONTROL)
    images: list[Image] = Field(default_factory=list, max_length=50)
    related: list[RelatedRef] = Field(default_factory=list, max_length=20)
    editor_related_titles: list[ShortText] = Field(default_factory=list, max_length=20)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    note: str | None = Field(default=None, max_length=2000, description="Internal note; never shown to readers.")

    _aware = field_validator("published_at", "updated_at", "embargo_until")(as_jakarta_aware)

    @model_validator(mode="after")
    def _has_body(self) -> ArticleIn:
        if not self.body and not self.body_paragraphs:
            raise ValueError("an article needs a body or body_paragraphs")
        return self


class ArticlePayload(BaseModel):
    """The normalised article that travels from ingest to the workers (HTML already sanitised)."""

    uid: str
    newsroom: str
    external_id: str
    title: str
    dek: str | None = None
    body_html: str
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    byline: str | None = None
    dateline: str | None = None
    language: str = "id"
    published_at: datetime
    updated_at: datetime | None = None
    embargo_until: datetime | None = None
    corrections: list[Correction] = Field(default_factory=list)
    canonical_url: str | None = None
    source: str | None = None
    images: list[Image] = Field(default_factory=list)
    related: list[RelatedRef] = Field(default_factory=list)
    version: int
    content_hash: str


def article_uid(newsroom: str, external_id: str) -> str:
    """Stable public id of an article: the same newsroom and external id always give the same uid."""
    return hashlib.sha256(f"{newsroom}\x00{external_id}".encode()).hexdigest()[:16]
