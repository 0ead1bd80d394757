"""Security headers wrap the whole app: even Starlette's own 500 response carries them."""

from __future__ import annotations

import asyncio

import httpx

from services.publish.app import create_app
from services.publish.config import PublishSettings
from services.publish.security import CSP


def test_unexpected_error_response_has_security_headers() -> None:
    app = create_app(PublishSettings(publish_operator_port=0))

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://reader") as client:
            return await client.get("/api/v1/boom")

    resp = asyncio.run(call())
    assert resp.status_code == 500 and resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["content-security-policy"] == CSP and resp.headers["x-frame-options"] == "DENY"


def test_operator_endpoints_are_off_the_reader_site_by_default() -> None:
    settings = PublishSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.publish_operator_host == "127.0.0.1" and settings.publish_operator_port
    app = create_app(settings)
    paths = {getattr(route, "path", "") for route in app.routes}
    assert not paths & {"/metrics", "/readyz", "/docs", "/redoc", "/openapi.json"}
    assert "/healthz" in paths
