"""The IndexNow key file (/{key}.txt): proves to search engines that pings for this host come from us."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.publish.deps import SettingsDep
from services.publish.surrogate import edge_cacheable
from shared.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/{key}.txt")
async def key_file(key: str, request: Request, settings: SettingsDep) -> Response:
    """The configured key as text/plain; 404 when IndexNow is off or the name is not the key."""
    if not settings.indexnow_key or key != settings.indexnow_key:
        raise NotFound("No such file.")
    edge_cacheable(request)  # no key: it changes only with the settings (a deploy), edge_max_age bounds it
    return Response(
        settings.indexnow_key, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"}
    )
