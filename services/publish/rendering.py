"""Server-side HTML: one autoescaping Jinja2 environment, pages rendered with validators and cache headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.publish.caching import cached_response
from services.publish.config import PublishSettings
from services.publish.i18n import resolve_locale, translator

TEMPLATES = Path(__file__).parent / "templates"


def create_environment() -> Environment:
    """Autoescape everything; only sanitised body HTML and ES-encoded highlights are marked |safe."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def request_locale(request: Request, settings: PublishSettings) -> str:
    return resolve_locale(request.query_params.get("lang"), settings.default_locale)


def base_context(request: Request, settings: PublishSettings) -> dict[str, Any]:
    locale = request_locale(request, settings)
    other = "en" if locale == "id" else "id"

    def link(path: str, **params: Any) -> str:
        """Internal links keep the reader's language choice."""
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if locale != settings.default_locale:
            query["lang"] = locale
        return path + ("?" + urlencode(query) if query else "")

    switch = {k: v for k, v in request.query_params.items() if k != "lang"}
    if other != settings.default_locale:
        switch["lang"] = other
    return {
        "request_path": request.url.path,
        "site_name": settings.site_name,
        "site_url": settings.site_url.rstrip("/"),
        "locale": locale,
        "t": translator(locale),
        "link": link,
        "switch_lang_url": request.url.path + ("?" + urlencode(switch) if switch else ""),
    }


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    max_age: int | None = None,
    last_modified: datetime | None = None,
) -> Response:
    return respond_html(
        request,
        render_html(request, template, context),
        status_code=status_code,
        max_age=max_age,
        last_modified=last_modified,
    )


def render_html(request: Request, template: str, context: dict[str, Any]) -> bytes:
    env: Environment = request.state.jinja
    return env.get_template(template).render({**base_context(request, request.state.settings), **context}).encode()


def respond_html(
    request: Request,
    body: bytes,
    *,
    status_code: int = 200,
    max_age: int | None = None,
    last_modified: datetime | None = None,
) -> Response:
    settings: PublishSettings = request.state.settings
    response = cached_response(
        request,
        body=body,
        media_type="text/html; charset=utf-8",
        max_age=settings.page_max_age if max_age is None else max_age,
        last_modified=last_modified,
        status_code=status_code,
    )
    if max_age is None and settings.page_stale_while_revalidate:
        # Pages on the default policy only (search and error pages set their own; see config for why).
        response.headers["Cache-Control"] += f", stale-while-revalidate={settings.page_stale_while_revalidate}"
    return response
