"""Security headers on every response (a pure ASGI middleware, so it adds no per-request task)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Scope

from services.publish.asgi import ResponseStartMiddleware

# No inline script anywhere: the suggest script is a static file, JSON-LD is a data block (not run).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The operator port's interactive docs (FastAPI's Swagger UI and ReDoc pages) load their script and
# styles from jsDelivr and start them with an inline script. That port serves no reader content, so
# allowing exactly that there costs nothing on the reader site, which keeps the strict policy above.
OPERATOR_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' https: data:; worker-src blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"interest-cohort=(), camera=(), microphone=(), geolocation=()"),
    ]


HEADERS = security_headers(CSP)


class SecurityHeadersMiddleware(ResponseStartMiddleware):
    """Adds the headers to every HTTP response, whatever its path or status; no exceptions by design.

    The app factories wrap the whole application in it (outside Starlette's ServerErrorMiddleware), so
    even an unexpected 500 carries the headers.
    """

    def __init__(self, app: ASGIApp, *, csp: str = CSP) -> None:
        super().__init__(app)
        self.headers = security_headers(csp)
        self.names = {name for name, _ in self.headers}

    def on_response_start(self, scope: Scope, message: Message) -> None:
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
        message["headers"] = headers + self.headers
