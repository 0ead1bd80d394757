"""JSON API for headless clients; errors are RFC 9457 problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.publish import search, service
from services.publish.deps import EsDep, NamesDep, SearchDep, SettingsDep
from services.publish.schemas import Article, RelatedResponse, SearchResponse, SuggestResponse
from services.publish.surrogate import edge_cacheable, mark
from shared.purge import article_key, shows_key

router = APIRouter(prefix="/api/v1", tags=["reader api"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown article (problem+json)"},
    410: {"description": "Withdrawn or deleted (problem+json)"},
    503: {"description": "Search backend unavailable (problem+json)"},
}


@router.get("/search", response_model=SearchResponse, responses={503: PROBLEMS[503]})
async def search_articles(es: EsDep, names: NamesDep, settings: SettingsDep, params: SearchDep) -> dict[str, Any]:
    """Search published articles: Indonesian stemming, typo tolerance, facets counted with post_filter."""
    return await search.search(es=es, names=names, params=params, max_chars=settings.max_query_chars)


@router.get("/suggest", response_model=SuggestResponse)
async def suggest_titles(
    es: EsDep,
    names: NamesDep,
    q: Annotated[str, Query(max_length=200, description="What the reader typed so far.")] = "",
) -> dict[str, Any]:
    """Title completions as the reader types."""
    return {"q": q, "suggestions": await search.suggest(es=es, names=names, prefix=q)}


@router.get("/articles/{uid}", response_model=Article, responses={404: PROBLEMS[404], 410: PROBLEMS[410]})
async def get_article(uid: str, request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> dict[str, Any]:
    """One published article by its uid."""
    edge_cacheable(request, article_key(uid), article=True)
    article = await service.published_article(es=es, names=names, uid=uid)
    return {**article, "url": settings.site_url.rstrip("/") + article["path"]}


@router.get(
    "/articles/{uid}/related", response_model=RelatedResponse, responses={404: PROBLEMS[404], 410: PROBLEMS[410]}
)
async def get_related(uid: str, request: Request, es: EsDep, names: NamesDep) -> dict[str, Any]:
    """Related articles that are still published: editors' picks first, then computed neighbours."""
    edge_cacheable(request, article_key(uid), article=True)
    items = await service.related(es=es, names=names, uid=uid)
    mark(request, *(shows_key(i["uid"]) for i in items if i.get("uid")))
    return {"uid": uid, "items": items}
