"""JSON API for headless clients."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.publish import repository, search
from services.publish.deps import EsDep, NamesDep, SettingsDep
from shared.errors import Gone, NotFound

router = APIRouter(prefix="/api/v1", tags=["reader api"])


@router.get("/search")
async def search_articles(
    es: EsDep,
    names: NamesDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=10_000)] = "",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Search published articles (Indonesian stemming, title/phrase boosts, freshness)."""
    return await search.search(es=es, names=names, q=q[: settings.max_query_chars], page=page, size=size)


@router.get("/articles/{uid}")
async def get_article(uid: str, es: EsDep, names: NamesDep) -> dict[str, Any]:
    article = await repository.get_article(es=es, names=names, uid=uid)
    if article is None:
        raise NotFound("No such article.")
    if article.get("status") != "published":
        raise Gone("This article was withdrawn.")
    return {k: v for k, v in article.items() if k not in {"title_suggest", "body_text"}}
