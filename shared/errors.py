"""One error hierarchy, rendered as RFC 9457 problem+json by the APIs and as friendly pages for HTML."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class KabarError(Exception):
    """An expected failure with an HTTP status; never a 500."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra or {}


class Unauthorized(KabarError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class NotFound(KabarError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(KabarError):
    status, title, type_slug = 409, "Conflict", "conflict"


class Gone(KabarError):
    status, title, type_slug = 410, "Gone", "gone"


class PayloadTooLarge(KabarError):
    status, title, type_slug = 413, "Payload too large", "payload-too-large"


class Unprocessable(KabarError):
    status, title, type_slug = 422, "Unprocessable content", "validation-error"


class RateLimited(KabarError):
    status, title, type_slug = 429, "Too many requests", "rate-limited"


class ServiceUnavailable(KabarError):
    status, title, type_slug = 503, "Service unavailable", "unavailable"


PROBLEM_TYPES = "https://kabar.dev/problems/"


def problem_type(type_slug: str) -> str:
    """The RFC 9457 `type` URI of a problem: one base for every service."""
    return PROBLEM_TYPES + type_slug


def problem(
    *,
    status: int,
    title: str,
    detail: str,
    type_slug: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": problem_type(type_slug),
        "title": title,
        "status": status,
        "detail": detail,
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def json_pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as an RFC 6901 JSON pointer into the request body."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"pointer": json_pointer(e.get("loc", ())), "detail": str(e.get("msg", "invalid"))} for e in errors]


def kabar_problem(request: Request, exc: KabarError) -> JSONResponse:
    """A KabarError as problem+json."""
    return problem(
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        type_slug=exc.type_slug,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extra,
    )


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Request validation errors as one 422 problem with a JSON pointer per bad field."""
    return problem(
        status=422,
        title="Unprocessable content",
        detail="The request has invalid fields.",
        type_slug="validation-error",
        instance=request.url.path,
        errors=validation_errors(list(exc.errors())),
    )


def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Framework HTTP errors (404 route, 405 method, ...) as problem+json."""
    return problem(
        status=exc.status_code,
        title=str(exc.detail),
        detail=str(exc.detail),
        type_slug="not-found" if exc.status_code == 404 else "http-error",
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of an API app as problem+json."""
    app.add_exception_handler(KabarError, kabar_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_problem)  # type: ignore[arg-type]
