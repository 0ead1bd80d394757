"""Dependencies of the moderation routes: a database session per request, the notifier, the API's desk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.ingest.comments.notify import Notifier
from services.ingest.comments.service import Moderation, api_actor
from services.ingest.config import IngestSettings
from services.ingest.deps import NewsroomDep


def get_session(request: Request) -> Iterator[Session]:
    """A session on the lifespan's engine; it connects on first use, so PostgreSQL down is a 503 there."""
    engine: Engine = request.state.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


async def get_notifier(request: Request) -> Notifier:
    settings: IngestSettings = request.state.settings
    return Notifier(
        producer=request.state.publisher.producer,
        redis=request.state.redis,
        prefix=settings.prefix,
        retry_after=settings.retry_after_seconds,
    )


SessionDep = Annotated[Session, Depends(get_session)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]


async def get_api_moderation(session: SessionDep, notifier: NotifierDep, newsroom: NewsroomDep) -> Moderation:
    """Decisions made with the newsroom's key: the actor is the newsroom's system."""
    return Moderation(session=session, notifier=notifier, newsroom=newsroom.id, actor=api_actor(newsroom.id))


ApiModerationDep = Annotated[Moderation, Depends(get_api_moderation)]
