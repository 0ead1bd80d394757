"""Reader-side use cases: the published article or a clear 404/410, and page assembly."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.publish import repository
from services.publish.formatting import parse_dt
from shared.errors import Gone, NotFound
from shared.es import PUBLISHED, IndexNames, is_visible

UID = re.compile(r"^[0-9a-f]{16}$")
UID_TAIL = re.compile(r"-([0-9a-f]{16})$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def _readable(article: dict[str, Any] | None) -> dict[str, Any]:
    """The article if readers may see it; 404 if unknown or under embargo, 410 if withdrawn or deleted."""
    if article is None:
        raise NotFound("No such article.")
    if article.get("status") != PUBLISHED:
        raise Gone("This article was withdrawn or deleted.")
    if not is_visible(article):
        # Exactly the answer for an unknown article: an embargo reveals neither the story nor its time.
        raise NotFound("No such article.")
    return article


# What deciding readability takes; callers that need only some fields name them with it.
READABILITY_FIELDS = ["uid", "status", "embargo_until"]


async def published_article(
    *, es: AsyncElasticsearch, names: IndexNames, uid: str, fields: list[str] | None = None
) -> dict[str, Any]:
    """The article if readers may see it (404/410 otherwise); only `fields` of it when given."""
    if not UID.match(uid):
        raise NotFound("No such article.")
    wanted = [*READABILITY_FIELDS, *fields] if fields else None
    return _readable(await repository.get_article(es=es, names=names, uid=uid, fields=wanted))


def uid_in(slug_uid: str) -> str | None:
    """The article uid at the end of an article URL's last segment, if there is one."""
    match = UID_TAIL.search(slug_uid)
    return match.group(1) if match else None


async def article_page_data(
    *, es: AsyncElasticsearch, names: IndexNames, slug_uid: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The article named by the uid at the end of a URL and its still-published related stories (one round trip)."""
    uid = uid_in(slug_uid)
    if not uid:
        raise NotFound("No such article.")
    article, related = await repository.get_article_and_related(es=es, names=names, uid=uid)
    return _readable(article), related


async def related(*, es: AsyncElasticsearch, names: IndexNames, uid: str) -> list[dict[str, Any]]:
    """A published article's related stories that are themselves still published (one round trip)."""
    # Status is checked on every read: the worker's clean-up of stored lists can fail or lag.
    if not UID.match(uid):
        raise NotFound("No such article.")
    article, items = await repository.get_article_and_related(es=es, names=names, uid=uid)
    _readable(article)
    return items


def last_modified(*items: dict[str, Any]) -> datetime | None:
    """The newest change among documents (indexed_at, else updated/published)."""
    parsed = (parse_dt(i.get("indexed_at") or i.get("updated_at") or i.get("published_at")) for i in items)
    stamps = [s for s in parsed if s is not None]
    return max(stamps) if stamps else None


async def section_title(*, es: AsyncElasticsearch, names: IndexNames, slug: str) -> str | None:
    """A section's display name; None for anything that is not a known section slug (favicon.ico...)."""
    if not SLUG.match(slug):
        return None
    return await repository.section_name(es=es, names=names, slug=slug)


async def section_listing(
    *, es: AsyncElasticsearch, names: IndexNames, slug: str, page: int, size: int
) -> dict[str, Any]:
    name = await section_title(es=es, names=names, slug=slug)
    if name is None:
        raise NotFound("No such section.")
    listing = await repository.latest(es=es, names=names, field="section_slug", value=slug, page=page, size=size)
    if page > 1 and not listing["items"]:
        raise NotFound("No such page.")
    return {**listing, "heading": name}


async def facet_listing(
    *, es: AsyncElasticsearch, names: IndexNames, field: str, value: str, page: int, size: int
) -> dict[str, Any]:
    """Tag and author pages: 404 when nothing published carries the value."""
    listing = await repository.latest(es=es, names=names, field=field, value=value, page=page, size=size)
    if not listing["items"]:
        raise NotFound("Nothing published here.")
    return {**listing, "heading": value}
