"""FastAPI dependencies: clients from the lifespan (request.state), the authenticated newsroom."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from redis import Redis

from services.ingest.auth import Newsroom, authenticate
from services.ingest.config import IngestSettings
from services.ingest.publisher import EventPublisher
from shared.state import StateStore


def get_settings(request: Request) -> IngestSettings:
    return request.state.settings


def get_redis(request: Request) -> Redis:
    return request.state.redis


def get_store(request: Request) -> StateStore:
    return request.state.store


def get_publisher(request: Request) -> EventPublisher:
    return request.state.publisher


def get_newsroom(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Newsroom:
    settings: IngestSettings = request.state.settings
    return authenticate(
        redis=request.state.redis, prefix=settings.prefix, authorization=authorization, api_key=x_api_key
    )


SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
StoreDep = Annotated[StateStore, Depends(get_store)]
PublisherDep = Annotated[EventPublisher, Depends(get_publisher)]
NewsroomDep = Annotated[Newsroom, Depends(get_newsroom)]
