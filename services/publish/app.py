"""Publish app factory: clients and the purge listener live in the lifespan; errors become pages or problems."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from elasticsearch import ApiError, TransportError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.publish.config import PublishSettings
from services.publish.microcache import MicroCache
from services.publish.rendering import create_environment, render_page
from services.publish.routes import api, feeds, pages
from services.publish.security import SecurityHeadersMiddleware
from shared.errors import (
    KabarError,
    http_problem,
    install_problem_handlers,
    kabar_problem,
    problem,
    validation_problem,
)
from shared.es import IndexNames
from shared.logging import configure_logging
from shared.observability import install_observability
from shared.purge import PurgeNotice, follow_purges

HERE = Path(__file__).parent
log = structlog.get_logger()

_PAGE_TEXT = {
    400: ("bad_request", "not_found_text"),
    404: ("not_found", "not_found_text"),
    410: ("gone", "gone_text"),
    503: ("unavailable", "unavailable_text"),
}


def create_app(settings: PublishSettings | None = None) -> FastAPI:
    settings = settings or PublishSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        from elasticsearch import AsyncElasticsearch
        from redis.asyncio import Redis

        configure_logging(level=settings.log_level, json=settings.log_json)
        auth = None
        if settings.es_username and settings.es_password:
            auth = (settings.es_username, settings.es_password.get_secret_value())
        es = AsyncElasticsearch(
            settings.es_url, basic_auth=auth, request_timeout=settings.es_request_timeout, connections_per_node=64
        )
        # Only for purge notices: pages never wait on Redis, and publish serves on while it is down.
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
        page_cache = MicroCache(ttl=settings.page_cache_seconds, settle=settings.purge_settle_seconds)

        def evict(notice: PurgeNotice) -> None:
            pages = page_cache.purge(notice.uids)
            log.info("page_cache.purged", uids=len(notice.uids), pages=pages)

        listener = asyncio.create_task(
            follow_purges(redis=redis, prefix=settings.prefix, on_purge=evict, on_subscribed=page_cache.clear),
            name="purge-listener",
        )
        try:
            yield {
                "settings": settings,
                "es": es,
                "names": IndexNames(settings.prefix),
                "jinja": create_environment(),
                "page_cache": page_cache,
            }
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await redis.aclose()
            await es.close()

    app = FastAPI(
        title="Kabar publish",
        version="1.0.0",
        description="Reader API: search with facets, articles, related links and title suggestions.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    _install_error_pages(app)
    install_observability(app, service="publish", checks={"elasticsearch": _es_ready})
    app.add_middleware(SecurityHeadersMiddleware)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    # Feeds and sitemaps before pages: "/rss.xml" would otherwise match the section route.
    app.include_router(feeds.router)
    app.include_router(pages.router)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, *, status: int, detail: str | None = None) -> Response:
    """A friendly HTML page in the reader's language; never cached for long."""
    title_key, text_key = _PAGE_TEXT.get(status, ("error", "error_text"))
    if not hasattr(request.state, "jinja"):  # lifespan not run (should not happen outside tests)
        return Response(f"{status}", status_code=status, media_type="text/plain")
    response = render_page(
        request,
        "error.html",
        {"status": status, "title_key": title_key, "text_key": text_key},
        status_code=status,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store" if status >= 500 else "public, max-age=30"
    return response


def _install_error_pages(app: FastAPI) -> None:
    """HTML routes get friendly pages; /api/ keeps problem+json (installed by install_problem_handlers)."""

    @app.exception_handler(KabarError)
    async def _kabar(request: Request, exc: KabarError) -> Response:
        if _is_api(request):
            return kabar_problem(request, exc)
        return error_page(request, status=exc.status, detail=exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return http_problem(request, exc)
        return error_page(request, status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return validation_problem(request, exc)
        return error_page(request, status=400)

    async def _search_backend(request: Request, exc: Exception) -> Response:
        # Elasticsearch trouble is the backend being unavailable to the reader, not a bug: 503.
        log.warning("elasticsearch.unavailable", path=request.url.path, error=type(exc).__name__, detail=str(exc)[:300])
        if _is_api(request):
            return problem(
                status=503,
                title="Service unavailable",
                detail="Search is temporarily unavailable.",
                type_slug="unavailable",
                instance=request.url.path,
                headers={"Retry-After": "5"},
            )
        response = error_page(request, status=503)
        response.headers["Retry-After"] = "5"
        return response

    app.add_exception_handler(ApiError, _search_backend)
    app.add_exception_handler(TransportError, _search_backend)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("publish.unhandled", path=request.url.path)
        if _is_api(request):
            return problem(
                status=500,
                title="Internal server error",
                detail="Something went wrong.",
                type_slug="internal",
                instance=request.url.path,
            )
        return error_page(request, status=500)


async def _es_ready(request: Request) -> None:
    health = await request.state.es.cluster.health(timeout="2s")
    if health["status"] == "red":
        raise RuntimeError("cluster red")
