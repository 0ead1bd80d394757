"""Reads of articles and related lists from Elasticsearch (through the aliases only)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from shared.es import IndexNames


async def get_article(*, es: AsyncElasticsearch, names: IndexNames, uid: str) -> dict[str, Any] | None:
    try:
        resp = await es.get(index=names.articles, id=uid)
    except NotFoundError:
        return None
    return resp["_source"]


async def get_related(*, es: AsyncElasticsearch, names: IndexNames, uid: str) -> list[dict[str, Any]]:
    try:
        resp = await es.get(index=names.related, id=uid)
    except NotFoundError:
        return []
    return resp["_source"].get("items", [])
