"""FastAPI dependencies: clients from the lifespan (request.state), the authenticated newsroom.

Dependencies that only read request.state are `async def` on purpose: FastAPI runs every sync
dependency in the threadpool, and those hops, not the work, dominated single-POST latency. Only
get_newsroom (blocking Redis calls) and the route bodies run in threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from redis import Redis

from services.ingest.auth import Newsroom, authenticate
from services.ingest.config import IngestSettings
from services.ingest.publisher import EventPublisher
from services.ingest.ratelimit import check_rate
from shared.state import StateStore


async def get_settings(request: Request) -> IngestSettings:
    return request.state.settings


async def get_redis(request: Request) -> Redis:
    return request.state.redis


async def get_store(request: Request) -> StateStore:
    return request.state.store


async def get_publisher(request: Request) -> EventPublisher:
    return request.state.publisher


def get_newsroom(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Newsroom:
    """The newsroom behind the API key, counted against its rate limit."""
    settings: IngestSettings = request.state.settings
    newsroom = authenticate(
        redis=request.state.redis, prefix=settings.prefix, authorization=authorization, api_key=x_api_key
    )
    check_rate(
        redis=request.state.redis,
        prefix=settings.prefix,
        newsroom=newsroom.id,
        per_minute=settings.rate_limit_per_minute,
    )
    return newsroom


async def get_raw_body(request: Request) -> bytes:
    """The body bytes (already read and cached by FastAPI when the route has a body parameter)."""
    return await request.body()


SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
StoreDep = Annotated[StateStore, Depends(get_store)]
PublisherDep = Annotated[EventPublisher, Depends(get_publisher)]
NewsroomDep = Annotated[Newsroom, Depends(get_newsroom)]
RawBodyDep = Annotated[bytes, Depends(get_raw_body)]


@dataclass(frozen=True)
class Write:
    """Everything a write route hands to a service function, plus what idempotency needs."""

    store: StateStore
    publisher: EventPublisher
    settings: IngestSettings
    redis: Redis
    newsroom: str
    request_id: str | None
    idempotency_key: str | None
    method_path: str
    body: bytes


async def get_write(
    request: Request,
    newsroom: NewsroomDep,
    store: StoreDep,
    publisher: PublisherDep,
    settings: SettingsDep,
    redis: RedisDep,
    body: RawBodyDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255,
            description="Replays the first answer for the same key and body; a different body is a 422.",
        ),
    ] = None,
) -> Write:
    return Write(
        store=store,
        publisher=publisher,
        settings=settings,
        redis=redis,
        newsroom=newsroom.id,
        request_id=getattr(request.state, "request_id", None) or request.headers.get("x-request-id"),
        idempotency_key=idempotency_key,
        method_path=f"{request.method} {request.url.path}",
        body=body,
    )


WriteDep = Annotated[Write, Depends(get_write)]
