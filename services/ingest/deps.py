"""FastAPI dependencies: clients from the lifespan (request.state), the authenticated newsroom.

Dependencies that only read request.state are `async def` on purpose: FastAPI runs every sync
dependency in the threadpool, and those hops, not the work, dominated single-POST latency. Only
the key check (blocking Redis calls) and the route bodies run in threads.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPBearer
from redis import Redis
from starlette.concurrency import run_in_threadpool

from services.ingest.auth import Newsroom, authenticate
from services.ingest.config import IngestSettings
from services.ingest.publisher import EventPublisher
from services.ingest.ratelimit import check_client_rate, check_rate
from shared.errors import Unauthorized
from shared.observability import INGEST_RESULTS
from shared.state import StateStore


async def get_settings(request: Request) -> IngestSettings:
    return request.state.settings


async def get_redis(request: Request) -> Redis:
    return request.state.redis


async def get_store(request: Request) -> StateStore:
    return request.state.store


async def get_publisher(request: Request) -> EventPublisher:
    return request.state.publisher


def admit(request: Request) -> Newsroom:
    """The newsroom behind the request's API key, counted against its rate limit.

    A request without a valid key is counted against its client address instead (429 past the limit),
    and as an `unauthenticated` outcome, not a rejected article.
    """
    settings: IngestSettings = request.state.settings
    redis: Redis = request.state.redis
    try:
        newsroom = authenticate(
            redis=redis,
            prefix=settings.prefix,
            authorization=request.headers.get("authorization"),
            api_key=request.headers.get("x-api-key"),
        )
    except Unauthorized:
        INGEST_RESULTS.labels("unauthenticated").inc()
        # Behind a proxy, uvicorn's --proxy-headers (with --forwarded-allow-ips) puts the real address here.
        client = request.client.host if request.client else "unknown"
        limit = settings.unauthenticated_rate_limit_per_minute
        check_client_rate(redis=redis, prefix=settings.prefix, client=client, per_minute=limit)
        raise
    check_rate(redis=redis, prefix=settings.prefix, newsroom=newsroom.id, per_minute=settings.rate_limit_per_minute)
    return newsroom


class AuthenticatedRoute(APIRoute):
    """A route whose API key is checked before FastAPI reads the request body.

    FastAPI reads and parses a body parameter before it solves any dependency, so a key checked in a
    dependency would let anyone make ingest read and parse up to max_request_bytes of JSON (and answer
    422 instead of 401). Wrapping the route handler puts the key check first; its errors still go
    through the app's exception handlers.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            request.state.newsroom = await run_in_threadpool(admit, request)
            return await handler(request)

        return authenticated


# Documentation only (auto_error=False): AuthenticatedRoute has checked the key by the time these run.
_BEARER = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The key in `X-API-Key`")


async def get_newsroom(
    request: Request,
    _bearer: Annotated[Any, Security(_BEARER)] = None,
    _api_key: Annotated[Any, Security(_API_KEY)] = None,
) -> Newsroom:
    """The newsroom AuthenticatedRoute resolved; a route of another class can never read one."""
    newsroom = getattr(request.state, "newsroom", None)
    if not isinstance(newsroom, Newsroom):
        raise RuntimeError("get_newsroom needs a route of class AuthenticatedRoute")
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
