"""Dependencies for publish routes: clients from the lifespan, locale, search parameters."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from elasticsearch import AsyncElasticsearch
from fastapi import Depends, Query, Request
from pydantic import BeforeValidator
from redis.asyncio import Redis
from sqlalchemy import Engine

from services.publish.comments.repository import PolicyCache
from services.publish.config import PublishSettings
from services.publish.search import SearchParams
from shared.es import IndexNames
from shared.producer import TaskProducer


def get_es(request: Request) -> AsyncElasticsearch:
    return request.state.es


def get_names(request: Request) -> IndexNames:
    return request.state.names


def get_db(request: Request) -> Engine:
    return request.state.db


def get_policies(request: Request) -> PolicyCache:
    return request.state.policies


def get_redis(request: Request) -> Redis:
    return request.state.redis


def get_producer(request: Request) -> TaskProducer:
    return request.state.producer


def get_settings(request: Request) -> PublishSettings:
    return request.state.settings


def get_locale(request: Request) -> str:
    lang = request.query_params.get("lang")
    return lang if lang in {"id", "en"} else request.state.settings.default_locale


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_date(value: object) -> date | None:
    """YYYY-MM-DD or nothing: an empty field (HTML forms send "") means no bound; anything else is a 4xx."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("Expected a date as YYYY-MM-DD.")
    return date.fromisoformat(text)  # ValueError (a 4xx with a pointer) for 2024-13-01 or 2024-02-30


# A validation error here becomes a 422 problem naming /query/<field> (or the 400 page on /cari).
IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:200] or None


def search_params(
    settings: Annotated[PublishSettings, Depends(get_settings)],
    q: Annotated[str, Query(max_length=20_000, description="Words to search for; never parsed as query syntax.")] = "",
    section: Annotated[str | None, Query(description="Section name (facet value).")] = None,
    author: Annotated[str | None, Query(description="Author name (facet value).")] = None,
    tag: Annotated[str | None, Query(description="Tag (facet value).")] = None,
    source: Annotated[str | None, Query(description="Source (facet value).")] = None,
    date_from: Annotated[IsoDate, Query(description="YYYY-MM-DD, Jakarta time, inclusive.")] = None,
    date_to: Annotated[IsoDate, Query(description="YYYY-MM-DD, Jakarta time, inclusive.")] = None,
    sort: Annotated[Literal["relevance", "newest"], Query(description="relevance or newest")] = "relevance",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    size: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> SearchParams:
    """Query parameters shared by the search page and /api/v1/search."""
    size = size or settings.page_size
    # Deep pages past Elasticsearch's result window would error; clamp to the last reachable page.
    page = min(page, 10_000 // size)
    return SearchParams(
        q=q,
        section=_optional(section),
        author=_optional(author),
        tag=_optional(tag),
        source=_optional(source),
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        size=size,
    )


EsDep = Annotated[AsyncElasticsearch, Depends(get_es)]
NamesDep = Annotated[IndexNames, Depends(get_names)]
SettingsDep = Annotated[PublishSettings, Depends(get_settings)]
LocaleDep = Annotated[str, Depends(get_locale)]
SearchDep = Annotated[SearchParams, Depends(search_params)]
DbDep = Annotated[Engine, Depends(get_db)]
RedisDep = Annotated[Redis, Depends(get_redis)]
PoliciesDep = Annotated[PolicyCache, Depends(get_policies)]
ProducerDep = Annotated[TaskProducer, Depends(get_producer)]
