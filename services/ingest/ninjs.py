"""IPTC ninjs 2.x → Kabar's native article; pubstatus decides between upsert, withdraw and delete.

Kabar's external id is the ninjs `uri` when it is a valid external id, else a stable hash of it.
Known ninjs properties that Kabar has no use for are dropped silently; unknown ones are reported.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.models import ArticleIn

# Every top-level property of ninjs 1.x and 2.x; anything else is reported back as ignored.
KNOWN_PROPERTIES = frozenset(
    [
        "$schema",
        "uri",
        "type",
        "mimetype",
        "representationtype",
        "profile",
        "version",
        "firstcreated",
        "versioncreated",
        "contentcreated",
        "embargoed",
        "pubstatus",
        "urgency",
        "copyrightholder",
        "copyrightnotice",
        "usageterms",
        "ednote",
        "language",
        "descriptions",
        "bodies",
        "headlines",
        "headline",
        "body_text",
        "body_html",
        "description_text",
        "description_html",
        "by",
        "slugline",
        "located",
        "renditions",
        "associations",
        "altids",
        "trustindicators",
        "standard",
        "genres",
        "subjects",
        "places",
        "events",
        "infosources",
        "title",
        "people",
        "organisations",
        "objects",
        "rightsinfo",
        "charcount",
        "wordcount",
        "keywords",
        "expires",
        "signals",
    ]
)
AUTHOR_RELS = {"author", "creator", "contributor", "byline"}
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")

# Where a native field came from, so a validation error points into the document the newsroom sent.
_POINTERS = {
    "external_id": "/uri",
    "title": "/headlines",
    "dek": "/headlines",
    "body": "/bodies",
    "section": "/subjects",
    "tags": "/subjects",
    "authors": "/people",
    "byline": "/by",
    "language": "/language",
    "published_at": "/firstcreated",
    "updated_at": "/versioncreated",
    "embargo_until": "/embargoed",
    "images": "/associations",
    "version": "/version",
}


class NinjsIn(BaseModel):
    """An IPTC ninjs 2.x news item (the properties Kabar maps; others are accepted and reported)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "uri": "urn:newsml:kabar.id:20260529:banjir",
                    "version": "2",
                    "versioncreated": "2026-05-29T08:00:00+07:00",
                    "firstcreated": "2026-05-29T07:30:00+07:00",
                    "pubstatus": "usable",
                    "language": "id",
                    "headlines": [
                        {"role": "main", "value": "Banjir rendam Jakarta"},
                        {"role": "sub", "value": "Ciliwung meluap"},
                    ],
                    "bodies": [{"role": "main", "contenttype": "text/html", "value": "<p>Hujan deras…</p>"}],
                    "subjects": [{"name": "Metro", "rel": "section"}, {"name": "banjir"}],
                    "by": "Rina Agustina",
                    "associations": [
                        {
                            "name": "featureimage",
                            "type": "picture",
                            "uri": "https://img.kabar.id/banjir.jpg",
                            "description_text": "Warga mengungsi",
                            "copyrightnotice": "Kabar/RAG",
                        }
                    ],
                }
            ]
        },
    )

    uri: str = Field(min_length=1, max_length=2000)
    version: str | int | None = None
    versioncreated: datetime | None = None
    firstcreated: datetime | None = None
    embargoed: datetime | None = None
    pubstatus: Literal["usable", "withheld", "canceled"] = "usable"
    language: str | None = Field(default=None, max_length=20)
    headlines: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    headline: str | None = None
    bodies: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    body_html: str | None = None
    body_text: str | None = None
    subjects: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    by: str | None = Field(default=None, max_length=300)
    people: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    associations: dict[str, dict[str, Any]] | list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class NinjsMapped:
    """What a ninjs document asks of Kabar."""

    action: Literal["upsert", "withdraw", "delete"]
    external_id: str
    version: int | None
    article: ArticleIn | None
    ignored: list[str] = field(default_factory=list)


def external_id_for(uri: str) -> str:
    """The uri itself when Kabar accepts it as an external id, else a stable hash of it."""
    if len(uri) <= 200 and _EXTERNAL_ID.match(uri):
        return uri
    return "ninjs-" + hashlib.sha256(uri.encode()).hexdigest()[:32]


def _version(value: str | int | None) -> int | None:
    if isinstance(value, int):
        return value if value >= 1 else None
    # isdigit() also accepts "²" and other digits int() refuses; only ASCII decimal digits are a version.
    if value and value.strip().isascii() and value.strip().isdecimal():
        return int(value.strip()) or None
    return None


def _text(items: list[Any], role: str) -> str | None:
    for item in items:
        if not isinstance(item, dict):
            continue
        if str(item.get("role", "main")) == role and isinstance(item.get("value"), str):
            return str(item["value"])
    return None


def _body(doc: NinjsIn) -> str | None:
    bodies = [b for b in doc.bodies if isinstance(b.get("value"), str)]
    # HTML keeps the newsroom's structure; plain text is the fallback.
    for wanted in ("text/html", "text/plain"):
        for body in bodies:
            if str(body.get("contenttype", "text/plain")).split(";")[0].strip() == wanted:
                return str(body["value"])
    return doc.body_html or doc.body_text or (str(bodies[0]["value"]) if bodies else None)


def _images(doc: NinjsIn) -> list[dict[str, Any]]:
    assocs = list(doc.associations.values()) if isinstance(doc.associations, dict) else doc.associations
    images = []
    for assoc in assocs:
        if not isinstance(assoc, dict):
            continue
        kind = str(assoc.get("type", "")) + " " + str(assoc.get("mimetype", ""))
        if not any(k in kind for k in ("picture", "image", "graphic")):
            continue
        url = assoc.get("uri") if str(assoc.get("uri", "")).startswith(("http://", "https://")) else None
        renditions = assoc.get("renditions") or {}
        if not url and isinstance(renditions, dict):
            url = next((r.get("href") for r in renditions.values() if isinstance(r, dict) and r.get("href")), None)
        if not url:
            continue
        headlines: list[Any] = assoc["headlines"] if isinstance(assoc.get("headlines"), list) else []
        descriptions: list[Any] = assoc["descriptions"] if isinstance(assoc.get("descriptions"), list) else []
        caption = assoc.get("description_text") or _text(descriptions, "caption") or _text(descriptions, "main")
        caption = caption or assoc.get("headline") or _text(headlines, "main")
        credit = assoc.get("copyrightnotice") or assoc.get("by")
        images.append({"url": url, "caption": caption, "credit": credit})
    return images


def to_article(doc: NinjsIn) -> NinjsMapped:
    """Map a ninjs document onto ArticleIn; validation errors point into the ninjs document."""
    external_id = external_id_for(doc.uri)
    version = _version(doc.version)
    ignored = sorted(set(doc.model_extra or {}) - KNOWN_PROPERTIES)
    if doc.pubstatus != "usable":
        action: Literal["withdraw", "delete"] = "withdraw" if doc.pubstatus == "withheld" else "delete"
        return NinjsMapped(action=action, external_id=external_id, version=version, article=None, ignored=ignored)
    section = next((str(s["name"]) for s in doc.subjects if s.get("rel") == "section" and s.get("name")), None)
    tags = [str(s["name"])[:100] for s in doc.subjects if s.get("name") and s.get("rel") != "section"]
    authors = [str(p["name"]) for p in doc.people if p.get("name") and str(p.get("rel", "")).lower() in AUTHOR_RELS]
    raw: dict[str, Any] = {
        "external_id": external_id,
        "version": version,
        "title": _text(doc.headlines, "main") or doc.headline or "",
        "dek": _text(doc.headlines, "sub"),
        "body": _body(doc),
        "section": section,
        "tags": list(dict.fromkeys(tags))[:50],
        "authors": authors or ([doc.by] if doc.by else []),
        "byline": doc.by,
        # An embargoed item goes out when the embargo lifts: that is its publication time for readers.
        "published_at": doc.embargoed or doc.firstcreated or doc.versioncreated,
        "updated_at": doc.versioncreated,
        "embargo_until": doc.embargoed,
        "images": _images(doc),
    }
    if doc.language:
        raw["language"] = doc.language
    try:
        article = ArticleIn.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *_pointer_parts(e.get("loc", ())))} for e in exc.errors()]
        ) from exc
    return NinjsMapped(action="upsert", external_id=external_id, version=version, article=article, ignored=ignored)


def _pointer_parts(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    if not loc:
        return ()
    return (_POINTERS.get(str(loc[0]), "/" + str(loc[0]))[1:], *loc[1:])
