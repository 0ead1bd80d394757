"""Pure ASGI middleware that edits each HTTP response as it starts (no per-request task, unlike
BaseHTTPMiddleware): the security headers and the edge's surrogate headers both work this way."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseStartMiddleware:
    """Calls `on_response_start` with every HTTP response's start message, before it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def on_response_start(self, scope: Scope, message: Message) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.on_response_start(scope, message)
            await send(message)

        await self.app(scope, receive, send_with_headers)
