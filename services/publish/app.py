"""Publish app factory: clients and the purge listener live in the lifespan; errors become pages or problems.

The reader site serves readers only. Operator endpoints (/metrics, /readyz, /docs, /redoc,
/openapi.json) are served by a second app on the operator port (settings.publish_operator_port,
loopback by default), run by a second uvicorn server inside the same process so that its metrics and
readiness are this process's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from elasticsearch import ApiError, TransportError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from services.publish.comments.errors import CommentRefused
from services.publish.comments.repository import PolicyCache
from services.publish.config import DEV_FORM_KEY, PublishSettings
from services.publish.microcache import MicroCache
from services.publish.rendering import create_environment, render_page
from services.publish.routes import api, comments, feeds, indexnow, pages, websub
from services.publish.security import CSP, OPERATOR_CSP, SecurityHeadersMiddleware
from services.publish.surrogate import SurrogateMiddleware
from shared.db import make_engine
from shared.errors import (
    KabarError,
    http_problem,
    install_problem_handlers,
    kabar_problem,
    problem,
    validation_problem,
)
from shared.es import IndexNames, create_async_client
from shared.logging import configure_logging
from shared.observability import RequestContextMiddleware, install_observability
from shared.producer import TaskProducer
from shared.purge import PurgeNotice, follow_purges
from shared.redisconn import async_redis_client

HERE = Path(__file__).parent
log = structlog.get_logger()

_PAGE_TEXT = {
    400: ("bad_request", "not_found_text"),
    404: ("not_found", "not_found_text"),
    410: ("gone", "gone_text"),
    503: ("unavailable", "unavailable_text"),
}


class SecuredApp(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's own 500 page included."""

    def __init__(self, *, csp: str, **kwargs: Any) -> None:
        self.csp = csp
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        # Middleware added with add_middleware sits inside ServerErrorMiddleware, whose 500 response
        # would go out without the headers; wrapping the built stack covers every response there is.
        return SecurityHeadersMiddleware(super().build_middleware_stack(), csp=self.csp)


def create_app(settings: PublishSettings | None = None) -> FastAPI:
    settings = settings or PublishSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        configure_logging(level=settings.log_level, json=settings.log_json)
        if settings.comment_form_key.get_secret_value() == DEV_FORM_KEY:
            # Anyone can read the development key in the repository and mint form tokens with it.
            log.warning("comments.development_form_key", setting="KABAR_COMMENT_FORM_KEY")
        es = create_async_client(settings, connections_per_node=64)
        # Only for purge notices: pages never wait on Redis, and publish serves on while it is down.
        redis = async_redis_client(settings, socket_connect_timeout=2)
        page_cache = MicroCache(
            ttl=settings.page_cache_seconds, settle=settings.purge_settle_seconds, max_bytes=settings.page_cache_bytes
        )

        def evict(notice: PurgeNotice) -> None:
            pages = page_cache.purge(notice.uids)
            log.info("page_cache.purged", uids=len(notice.uids), pages=pages)

        listener = asyncio.create_task(
            follow_purges(redis=redis, prefix=settings.prefix, on_purge=evict, on_subscribed=page_cache.clear),
            name="purge-listener",
        )
        # WebSub verification requests go to the notify workers. Declared in the background: readers never
        # wait on the broker, and a hub request while it is down answers 503.
        producer = TaskProducer(
            name="kabar-publish", broker_url=settings.broker_url, prefix=settings.prefix, confirm_timeout=5.0
        )
        declaring = asyncio.create_task(asyncio.to_thread(_declare, producer), name="declare-queues")
        # Reader comments are read from PostgreSQL (in threads: the engine is synchronous). Creating the engine
        # connects to nothing, so publish starts, and serves articles, while PostgreSQL is down.
        db = make_engine(settings)
        state = {
            "settings": settings,
            "es": es,
            "producer": producer,
            "names": IndexNames(settings.prefix),
            "jinja": create_environment(),
            "page_cache": page_cache,
            "db": db,
            "redis": redis,
            "policies": PolicyCache(ttl=settings.comment_policy_cache_seconds),
        }
        try:
            async with _operator_server(create_operator_app(app, state=state), settings=settings):
                yield state
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            with contextlib.suppress(Exception):
                await declaring
            producer.close()
            db.dispose()
            await redis.aclose()
            await es.close()

    # No docs or schema on the reader site: they are on the operator port (create_operator_app).
    app = SecuredApp(
        csp=CSP,
        title="Kabar publish",
        version="1.0.0",
        description="Reader API: search with facets, articles, related links and title suggestions.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_problem_handlers(app)
    _install_error_pages(app)
    app.add_middleware(SurrogateMiddleware)
    app.add_middleware(RequestContextMiddleware, service="publish")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        # Liveness only, for load balancers on the public side (and the edge's probe): it says nothing
        # about dependencies, and no cache may answer it in publish's place.
        return JSONResponse({"status": "ok", "service": "publish"}, headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    # Feeds and sitemaps before pages: "/rss.xml" would otherwise match the section route.
    app.include_router(feeds.router)
    # The hub and the IndexNow key file before pages too: "/{key}.txt" would match the section route.
    app.include_router(websub.router)
    app.include_router(indexnow.router)
    # Before pages, like the feeds: the comment routes are fixed paths pages must not shadow.
    app.include_router(comments.router)
    app.include_router(pages.router)
    return app


def _declare(producer: TaskProducer) -> None:
    try:
        producer.declare()
    except Exception as exc:  # the broker may come up later; the workers' bootstrap declares the queues too
        log.warning("publish.broker_unavailable_at_start", error=repr(exc)[:200])


def create_operator_app(public: FastAPI, *, state: dict[str, Any]) -> FastAPI:
    """/metrics, /readyz, /healthz and the reader API's /openapi.json, /docs and /redoc, sharing `state`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield state  # the reader app's clients: readiness checks the same Elasticsearch client

    app = SecuredApp(
        csp=OPERATOR_CSP,
        title="Kabar publish (operator)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_problem_handlers(app)
    install_observability(app, service="publish", checks={"elasticsearch": _es_ready})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(public.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{public.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{public.title} - ReDoc")

    return app


class _OperatorServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The reader server owns SIGINT/SIGTERM; this one is stopped by the reader app's lifespan.
        yield


@asynccontextmanager
async def _operator_server(app: FastAPI, *, settings: PublishSettings) -> AsyncIterator[None]:
    """Serve `app` on the operator port while the block runs (not at all when the port is 0)."""
    if not settings.publish_operator_port:
        yield
        return
    # SO_REUSEPORT: with `uvicorn --workers N` every worker process binds the port and the kernel
    # spreads scrapes over them, as it does for the reader port (each answers with its own metrics).
    # A port held by anything else still fails start-up, loudly.
    sock = socket.socket(socket.AF_INET6 if ":" in settings.publish_operator_host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((settings.publish_operator_host, settings.publish_operator_port))
    except OSError:
        sock.close()
        raise
    # log_config and log_level None: the reader server's logging set-up stays as it is.
    config = uvicorn.Config(app, log_config=None, log_level=None, access_log=False, lifespan="on")
    server = _OperatorServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="operator-server")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("operator server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info("operator.listening", host=settings.publish_operator_host, port=settings.publish_operator_port)
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


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

    @app.exception_handler(CommentRefused)
    async def _comment_refused(request: Request, exc: CommentRefused) -> Response:
        # The reason in the reader's language; a refusal is about this one form, so nothing may keep it.
        response = render_page(
            request,
            "error.html",
            {
                "status": exc.status,
                "title_key": "comments_closed" if exc.detail == "closed" else "comment_refused",
                "text_key": f"comment_error_{exc.detail}",
            },
            status_code=exc.status,
            max_age=0,
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers.update(exc.headers)
        return response

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
