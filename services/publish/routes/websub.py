"""POST /websub: Kabar's WebSub hub (W3C WebSub 5.1). Errors are problem+json, as the spec's 4xx."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.publish import websub
from services.publish.deps import EsDep, NamesDep, SettingsDep
from shared.errors import KabarError, kabar_problem
from shared.websub import HUB_PATH

router = APIRouter(include_in_schema=False)


@router.post(HUB_PATH)
async def hub(request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    """Accept a subscribe or unsubscribe request: 202, and the subscriber's intent is verified later."""
    try:
        body = await _body(request)
        await websub.request_subscription(
            body=body, producer=request.state.producer, es=es, names=names, settings=settings
        )
    except KabarError as exc:
        # The hub is an API, not a page: problem+json whatever the reader-site error pages do.
        return kabar_problem(request, exc)
    return Response(status_code=202, headers={"Cache-Control": "no-store"})


async def _body(request: Request) -> bytes:
    """The request body, read no further than a hub request can be long."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise websub.BadHubRequest("The body must be application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > websub.MAX_REQUEST_BYTES:
            raise websub.BadHubRequest("The request body is too large.")
    return body
