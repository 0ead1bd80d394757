"""Comment counts from Elasticsearch's comment-counts index (written by the workers) for lists and the home page.

Counts decorate a page; they never break one: a missing index or an Elasticsearch error means no counts.
"""

from __future__ import annotations

from typing import Any

import structlog
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from services.publish.search import LIST_SOURCE
from shared.es import IndexNames, is_visible

log = structlog.get_logger()
_ERRORS = (ApiError, TransportError)


async def comment_counts(*, es: AsyncElasticsearch, names: IndexNames, uids: list[str]) -> dict[str, int]:
    """Shown comments per article uid (only those with any), in one mget."""
    wanted = list(dict.fromkeys(u for u in uids if u))
    if not wanted:
        return {}
    try:
        resp = await es.mget(index=names.comment_counts, ids=wanted, source_includes=["count"])
    except _ERRORS as exc:
        log.warning("comment_counts.unavailable", error=type(exc).__name__)
        return {}
    return {
        doc["_id"]: int(doc["_source"].get("count") or 0)
        for doc in resp.get("docs", [])
        if doc.get("found") and doc["_source"].get("count")
    }


def with_counts(items: list[dict[str, Any]], counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{**item, "comment_count": counts.get(item.get("uid") or "", 0)} for item in items]


async def most_discussed(*, es: AsyncElasticsearch, names: IndexNames, size: int) -> list[dict[str, Any]]:
    """The `size` visible articles with the most shown comments, most first (ties: newest comment first)."""
    try:
        resp = await es.search(
            index=names.comment_counts,
            query={"range": {"count": {"gt": 0}}},
            sort=[{"count": "desc"}, {"last_comment_at": {"order": "desc", "unmapped_type": "date"}}],
            # Some of the top may be withdrawn or under embargo: a few spare ones cover them.
            size=size * 3,
            source_includes=["count"],
            ignore_unavailable=True,
        )
        hits = resp["hits"]["hits"]
        if not hits:
            return []
        articles = await es.mget(
            index=names.articles,
            ids=[h["_id"] for h in hits],
            source_includes=[*LIST_SOURCE, "status", "embargo_until"],
        )
    except _ERRORS as exc:
        log.warning("most_discussed.unavailable", error=type(exc).__name__)
        return []
    count = {h["_id"]: int(h["_source"].get("count") or 0) for h in hits}
    shown = [
        {**doc["_source"], "comment_count": count[doc["_id"]]}
        for doc in articles.get("docs", [])
        if doc.get("found") and is_visible(doc["_source"])
    ]
    return shown[:size]
