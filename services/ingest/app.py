"""Ingest app factory: clients are created in the lifespan and handed to requests via request.state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.ingest.comments import upkeep
from services.ingest.comments.errors import install_database_errors
from services.ingest.comments.notify import Notifier
from services.ingest.comments.pages import router as moderation_page_router
from services.ingest.comments.routes import router as comments_router
from services.ingest.config import IngestSettings
from services.ingest.limits import RequestSizeLimit
from services.ingest.publisher import EventPublisher
from services.ingest.routes import router
from services.ingest.webhook_routes import router as webhook_router
from shared.db import make_engine
from shared.errors import ServiceUnavailable, install_problem_handlers, kabar_problem, validation_problem
from shared.logging import configure_logging
from shared.observability import INGEST_RESULTS, install_observability
from shared.redisconn import redis_client
from shared.state import StateStore


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the newsroom API; settings are read from the environment when not given."""
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        configure_logging(level=settings.log_level, json=settings.log_json)
        redis = redis_client(settings, socket_timeout=5)
        publisher = EventPublisher(
            broker_url=settings.broker_url,
            prefix=settings.prefix,
            confirm_timeout=settings.confirm_timeout_seconds,
            retry_after=settings.retry_after_seconds,
        )
        try:
            publisher.declare()
        except Exception:  # the broker may come up later; publishing answers 503 until then
            structlog.get_logger().warning("ingest.broker_unavailable_at_start")
        # Comments only: connects on first use, so ingest and its article API start without PostgreSQL.
        engine = make_engine(settings)
        notifier = Notifier(
            producer=publisher.producer, redis=redis, prefix=settings.prefix, retry_after=settings.retry_after_seconds
        )
        comments_upkeep = upkeep.start(engine=engine, notifier=notifier, every=settings.moderation_refresh_seconds)
        try:
            yield {
                "settings": settings,
                "redis": redis,
                "publisher": publisher,
                "store": StateStore(
                    redis,
                    settings.prefix,
                    wait_replicas=settings.redis_wait_replicas,
                    wait_timeout_ms=settings.redis_wait_timeout_ms,
                ),
                "engine": engine,
            }
        finally:
            comments_upkeep.cancel()
            engine.dispose()
            publisher.close()
            redis.close()

    app = FastAPI(
        title="Kabar ingest",
        version="1.0.0",
        lifespan=lifespan,
        description=(
            "The newsroom API: create, replace, unpublish and delete articles, natively, in bulk or as IPTC"
            " ninjs. Authenticate with `Authorization: Bearer <key>` or `X-API-Key`. Errors are RFC 9457"
            " problem+json with a JSON pointer per bad field. A 202 means RabbitMQ confirmed a persistent message."
        ),
    )
    install_problem_handlers(app)
    install_database_errors(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Invalid bodies never reach a route; they still count as rejected writes.
        INGEST_RESULTS.labels("rejected").inc()
        return validation_problem(request, exc)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    @app.exception_handler(ReadOnlyError)
    async def _state_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Keys, limits and article state live in Redis: while it is away (a restart, or the seconds a
        # Sentinel failover takes) a write cannot be checked or recorded. That is an outage, not a bug, so the
        # newsroom gets a 503 to retry (a retry is safe: versions and idempotency keys make it one write).
        structlog.get_logger().warning("ingest.redis_unavailable", error=repr(exc)[:200])
        outage = ServiceUnavailable(
            "Article state is unavailable for a moment; retry the request.", headers={"Retry-After": "1"}
        )
        return kabar_problem(request, outage)

    install_observability(app, service="ingest", checks=readiness_checks())
    app.include_router(router)
    app.include_router(webhook_router)
    app.include_router(comments_router)
    app.include_router(moderation_page_router)
    # Added last, so it is the outermost middleware: oversized bodies are refused before anything reads them.
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    return app


def readiness_checks() -> dict[str, Any]:
    """Ingest is ready when it can record state (Redis) and hand off (RabbitMQ)."""
    from starlette.concurrency import run_in_threadpool

    async def redis_ok(request: Request) -> None:
        await run_in_threadpool(request.state.redis.ping)

    async def broker_ok(request: Request) -> None:
        def check() -> None:
            with request.state.publisher.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)

        await run_in_threadpool(check)

    return {"redis": redis_ok, "broker": broker_ok}
