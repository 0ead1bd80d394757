"""Reads of articles, listings, feeds and sitemap entries from Elasticsearch (through the aliases only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import structlog
from elasticsearch import AsyncElasticsearch, NotFoundError

from services.publish.search import LIST_SOURCE, MAX_WINDOW
from shared.es import ONLY_PUBLISHED, IndexNames
from shared.models import LOCAL_TZ

log = structlog.get_logger()

NEWEST = [{"published_at": "desc"}, {"uid": "asc"}]
FEED_SOURCE = [*LIST_SOURCE, "updated_at", "indexed_at", "body_text", "images", "corrections", "language"]
# A stored list holds k computed links and the editors' picks: far fewer than this.
RELATED_MAX = 50


async def get_article(
    *, es: AsyncElasticsearch, names: IndexNames, uid: str, fields: list[str] | None = None
) -> dict[str, Any] | None:
    """The stored article (all but the search-only fields, or only `fields`), or None."""
    source: dict[str, Any] = (
        {"source_includes": fields} if fields else {"source_excludes": ["title_suggest", "body_text"]}
    )
    try:
        resp = await es.get(index=names.articles, id=uid, **source)
    except NotFoundError:
        return None
    return resp["_source"]


async def get_article_and_related(
    *, es: AsyncElasticsearch, names: IndexNames, uid: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The article (a real-time read) and the still-published part of its stored related list, in parallel."""
    # The article is read with a GET, which is real time: once the newsroom's state says published,
    # withdrawn or deleted, the page says the same at once, never a refresh interval later. The list is
    # read by one msearch: the stored list, and its related_uids looked up server-side (terms lookup: a
    # real-time get of the list) among the articles published now; a stored list can name a story withdrawn
    # after it was computed (the worker's cleanup failed or never ran), so every render checks status.
    searches = [
        {"index": names.related},
        _by_id(uid),
        {"index": names.articles},
        {
            "query": _published([{"terms": {"uid": {"index": names.related, "id": uid, "path": "related_uids"}}}]),
            # Uids from doc values, no stored fields at all: the cheapest hit (measured against _source: false).
            "stored_fields": "_none_",
            "docvalue_fields": ["uid"],
            "size": RELATED_MAX,
            "track_total_hits": False,
        },
    ]
    # Both at once; an outage of either surfaces as itself (the app answers 503), never half-handled.
    article, resp = await asyncio.gather(get_article(es=es, names=names, uid=uid), es.msearch(searches=searches))
    stored, live = resp["responses"]
    if "error" in stored or "error" in live:
        # The list is secondary: better the article without it than an error page, and never unchecked.
        log.warning("related.read_failed", article_id=uid, error=str(stored.get("error") or live.get("error"))[:300])
        return article, []
    lists = stored["hits"]["hits"]
    items = lists[0]["_source"].get("items", []) if lists else []
    published = {h["fields"]["uid"][0] for h in live["hits"]["hits"]}
    return article, [i for i in items if i.get("uid") in published]


def _by_id(uid: str) -> dict[str, Any]:
    return {"query": {"ids": {"values": [uid]}}, "size": 1, "track_total_hits": False}


def _published(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"bool": {"filter": [ONLY_PUBLISHED, *(extra or [])]}}


async def latest(
    *,
    es: AsyncElasticsearch,
    names: IndexNames,
    field: str | None = None,
    value: str | None = None,
    page: int = 1,
    size: int = 20,
) -> dict[str, Any]:
    """Newest published articles, optionally of one section slug, tag or author, a page at a time."""
    extra = [{"term": {field: value}}] if field and value else []
    start = (page - 1) * size
    if start + size > MAX_WINDOW:
        return {"total": 0, "items": [], "page": page, "pages": 0}
    resp = await es.search(
        index=names.articles,
        query=_published(extra),
        sort=NEWEST,
        from_=start,
        size=size,
        source_includes=LIST_SOURCE,
        track_total_hits=True,
    )
    total = resp["hits"]["total"]["value"]
    return {
        "total": total,
        "items": [h["_source"] for h in resp["hits"]["hits"]],
        "page": page,
        "pages": max(1, min(-(-total // size), MAX_WINDOW // size)),
    }


async def home(*, es: AsyncElasticsearch, names: IndexNames, size: int = 10, per_section: int = 4) -> dict[str, Any]:
    """The newest stories and the newest few of each busy section, in one request."""
    resp = await es.search(
        index=names.articles,
        query=_published(),
        sort=NEWEST,
        size=size,
        source_includes=LIST_SOURCE,
        aggs={
            "sections": {
                "terms": {"field": "section_slug", "size": 8},
                "aggs": {"top": {"top_hits": {"size": per_section, "sort": NEWEST, "_source": LIST_SOURCE}}},
            }
        },
    )
    sections = []
    for bucket in resp["aggregations"]["sections"]["buckets"]:
        items = [h["_source"] for h in bucket["top"]["hits"]["hits"]]
        sections.append({"slug": bucket["key"], "name": items[0].get("section") or bucket["key"], "items": items})
    return {"items": [h["_source"] for h in resp["hits"]["hits"]], "sections": sections}


async def section_name(*, es: AsyncElasticsearch, names: IndexNames, slug: str) -> str | None:
    """The display name of a section slug, or None when no published article uses it."""
    resp = await es.search(
        index=names.articles, query=_published([{"term": {"section_slug": slug}}]), size=1, source_includes=["section"]
    )
    hits = resp["hits"]["hits"]
    return (hits[0]["_source"].get("section") or slug) if hits else None


async def feed_items(
    *, es: AsyncElasticsearch, names: IndexNames, section_slug: str | None = None, size: int = 30
) -> list[dict[str, Any]]:
    extra = [{"term": {"section_slug": section_slug}}] if section_slug else []
    resp = await es.search(
        index=names.articles, query=_published(extra), sort=NEWEST, size=size, source_includes=FEED_SOURCE
    )
    return [h["_source"] for h in resp["hits"]["hits"]]


async def recent_news(*, es: AsyncElasticsearch, names: IndexNames, hours: int = 48) -> list[dict[str, Any]]:
    """Articles of the last `hours` for the Google News sitemap (which allows at most 1,000 URLs)."""
    resp = await es.search(
        index=names.articles,
        query=_published([{"range": {"published_at": {"gte": f"now-{hours}h"}}}]),
        sort=NEWEST,
        size=1000,
        source_includes=["path", "title", "published_at", "language"],
    )
    return [h["_source"] for h in resp["hits"]["hits"]]


async def sitemap_months(*, es: AsyncElasticsearch, names: IndexNames) -> list[dict[str, Any]]:
    """Published articles per month (count and newest change): the unit sitemaps are split by."""
    resp = await es.search(
        index=names.articles,
        query=_published(),
        size=0,
        aggs={
            "months": {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": "month",
                    "time_zone": LOCAL_TZ,
                    "format": "yyyy-MM",
                    "min_doc_count": 1,
                },
                "aggs": {"lastmod": {"max": {"field": "indexed_at"}}},
            }
        },
    )
    return [
        {"month": b["key_as_string"], "count": b["doc_count"], "lastmod": b["lastmod"].get("value_as_string")}
        for b in resp["aggregations"]["months"]["buckets"]
    ]


async def sitemap_urls(
    *, es: AsyncElasticsearch, names: IndexNames, month: str, part: int, max_urls: int, batch: int = 5_000
) -> AsyncIterator[dict[str, Any]]:
    """Entries of one month's part, walked with search_after so no page is deeper than max_result_window."""
    start, stop = part * max_urls, (part + 1) * max_urls
    query = _published(
        [
            {
                "range": {
                    "published_at": {
                        "gte": month,
                        "lt": f"{month}||+1M",
                        "format": "yyyy-MM",
                        "time_zone": LOCAL_TZ,
                    }
                }
            }
        ]
    )
    seen = 0
    after: list[Any] | None = None
    while seen < stop:
        kwargs: dict[str, Any] = {"search_after": after} if after else {}
        # Skipped rows (earlier parts) are fetched without _source: cheap, and bounded by the split size.
        wanted = seen + batch > start
        source: dict[str, Any] = (
            {"source_includes": ["path", "updated_at", "published_at", "indexed_at"]} if wanted else {"source": False}
        )
        resp = await es.search(
            index=names.articles,
            query=query,
            sort=[{"published_at": "asc"}, {"uid": "asc"}],
            size=min(batch, stop - seen),
            **source,
            **kwargs,
        )
        hits = resp["hits"]["hits"]
        if not hits:
            return
        for hit in hits:
            if seen >= start:
                yield hit["_source"]
            seen += 1
        after = hits[-1]["sort"]
