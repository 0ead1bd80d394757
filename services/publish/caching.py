"""HTTP validators: ETag and Last-Modified on pages and feeds, 304 on a matching conditional request."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response


def etag_for(body: bytes) -> str:
    # Weak: the same representation modulo compression is good enough for readers' caches.
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def not_modified(request: Request, *, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip() for t in inm.split(",")}
        return "*" in tags or etag in tags or etag.removeprefix("W/") in tags
    ims = request.headers.get("if-modified-since")
    if ims and last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


def cached_response(
    request: Request,
    *,
    body: bytes,
    media_type: str,
    max_age: int,
    last_modified: datetime | None = None,
    status_code: int = 200,
) -> Response:
    """The body with validators and Cache-Control, or an empty 304 when the client's copy is current."""
    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    if status_code == 200 and not_modified(request, etag=etag, last_modified=last_modified):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
