"""Health, readiness and Prometheus metrics for Kabar's HTTP services."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

REQUEST_LATENCY = Histogram(
    "kabar_http_request_duration_seconds",
    "HTTP request latency by service and route",
    ["service", "method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGEST_RESULTS = Counter("kabar_ingest_articles_total", "Articles by ingest outcome", ["result"])

ReadinessCheck = Callable[[Request], Awaitable[None]]


class RequestContextMiddleware(BaseHTTPMiddleware):
    """Bind a request id to logs, echo it back, and time every request by its route template."""

    def __init__(self, app: object, service: str) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.service = service

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        request.state.request_id = request_id  # handed on in events, so worker logs carry it too
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(self.service, request.method, template, str(status)).observe(
                time.perf_counter() - start
            )
            structlog.contextvars.unbind_contextvars("request_id")


def install_observability(app: FastAPI, *, service: str, checks: dict[str, ReadinessCheck]) -> None:
    """/healthz (process alive), /readyz (every dependency answers), /metrics (Prometheus)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check(request)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results}, status_code=200 if ready else 503
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(RequestContextMiddleware, service=service)
