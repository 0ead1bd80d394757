"""PostgreSQL down is an expected failure of the comment routes (503), never of ingest or its article API."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError

from shared.errors import problem

log = structlog.get_logger()

RETRY_AFTER_SECONDS = 5


def database_unavailable(request: Request, exc: Exception) -> Response:
    """A 503 problem (or the page's friendly 503) when PostgreSQL cannot be reached."""
    # Only the error's class: its text may quote the connection string.
    log.warning("comments.database_unavailable", error=type(getattr(exc, "orig", exc)).__name__)
    if request.url.path.startswith("/moderasi"):
        from services.ingest.comments.pages import unavailable_page

        return unavailable_page(request, retry_after=RETRY_AFTER_SECONDS)
    return problem(
        status=503,
        title="Service unavailable",
        detail="The comment database is unavailable; nothing was changed. Retry later.",
        type_slug="unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_database_errors(app: FastAPI) -> None:
    # psycopg reports a refused, dropped or timed-out connection as OperationalError; other database
    # errors are bugs and stay 500s.
    app.add_exception_handler(OperationalError, database_unavailable)
