"""Publish app factory: the Elasticsearch client lives in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.publish.config import PublishSettings
from services.publish.i18n import translator
from services.publish.routes import api, pages
from shared.errors import KabarError, install_problem_handlers
from shared.es import IndexNames
from shared.logging import configure_logging
from shared.observability import install_observability

HERE = Path(__file__).parent


def create_templates(settings: PublishSettings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")

    def defaults(request: Request) -> dict[str, Any]:
        locale = request.query_params.get("lang") or settings.default_locale
        locale = locale if locale in {"id", "en"} else "id"
        return {"site_name": settings.site_name, "locale": locale, "t": translator(locale)}

    templates.context_processors.append(defaults)
    return templates


def create_app(settings: PublishSettings | None = None) -> FastAPI:
    settings = settings or PublishSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        from elasticsearch import AsyncElasticsearch

        configure_logging(level=settings.log_level, json=settings.log_json)
        auth = None
        if settings.es_username and settings.es_password:
            auth = (settings.es_username, settings.es_password.get_secret_value())
        es = AsyncElasticsearch(settings.es_url, basic_auth=auth, request_timeout=settings.es_request_timeout)
        try:
            yield {
                "settings": settings,
                "es": es,
                "names": IndexNames(settings.prefix),
                "templates": create_templates(settings),
            }
        finally:
            await es.close()

    app = FastAPI(title="Kabar publish", version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    install_observability(app, service="publish", checks={"elasticsearch": _es_ready})

    @app.exception_handler(KabarError)
    async def _kabar_error(request: Request, exc: KabarError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {
                    "type": f"https://kabar.dev/problems/{exc.type_slug}",
                    "title": exc.title,
                    "status": exc.status,
                    "detail": exc.detail,
                },
                status_code=exc.status,
                media_type="application/problem+json",
            )
        return HTMLResponse(f"<!doctype html><title>{exc.status}</title><h1>{exc.title}</h1>", status_code=exc.status)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


async def _es_ready(request: Request) -> None:
    health = await request.state.es.cluster.health(timeout="2s")
    if health["status"] == "red":
        raise RuntimeError("cluster red")
