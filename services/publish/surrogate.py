"""Surrogate keys and edge lifetimes on publish's responses, for the edge cache (deploy/varnish/kabar.vcl).

Routes say what a response shows (`mark`) and whether the edge may keep it (`edge_cacheable`); the
middleware writes both as headers on whatever response goes out, error pages and redirects included.
Anything not marked cacheable gets `Surrogate-Control: no-store`, so the edge fails closed: search,
/healthz, problems and unexpected responses are never kept. The edge strips both headers.
"""

from __future__ import annotations

import re

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope

from services.publish.asgi import ResponseStartMiddleware
from services.publish.config import PublishSettings

# Statuses the edge may keep when the route allows it: a 404/410 names the article it is about, so the
# pipeline's purge replaces it the moment the article appears (again).
EDGE_STATUSES = frozenset({200, 301, 404, 410})
# Error pages are kept briefly whatever edge_max_age says: a flood of random URLs must not reach publish
# each time, and a 404 must not outlive a new section or tag by much even if its purge were lost.
ERROR_MAX_AGE = 30
# A 404 for an article URL may be a story under embargo, which must show the moment the embargo lifts even
# if no purge comes then (workers down): such a 404 is kept a second at most, at the edge and in browsers,
# with no stale copy. Unknown articles get the very same answer, so the headers reveal no embargo.
ARTICLE_MISS_MAX_AGE = 1
# A key is one xkey token: printable ASCII, no space or comma (which separate keys). Keys built from a
# URL a reader typed (an unknown uid or section) may be anything; such a key names nothing that exists,
# so it is dropped rather than sent (a header must be Latin-1, and a bad key must never be a 500).
_TOKEN = re.compile(r"[!-+\--~]+", re.ASCII)


def mark(request: Request, *keys: str) -> None:
    """Add surrogate keys to this request's response (what it shows; a purge of any key drops it)."""
    marked: set[str] = getattr(request.state, "surrogate_keys", None) or set()
    marked.update(k for k in keys if _TOKEN.fullmatch(k))
    request.state.surrogate_keys = marked


def edge_cacheable(request: Request, *keys: str, article: bool = False) -> None:
    """Let the edge keep this request's response for the configured lifetime (see surrogate_control), under
    these surrogate keys (more may be marked once the page knows what it shows). `article`: a response
    about one article by its uid, whose 404 lives ARTICLE_MISS_MAX_AGE at most."""
    request.state.edge_cacheable = True
    if article:
        request.state.article_miss_brief = True
    mark(request, *keys)


def surrogate_control(settings: PublishSettings, status: int) -> str:
    """The edge's lifetime: fresh for edge_max_age, then stale-while-revalidate while publish answers,
    and stale-if-error while it does not (down or restarting)."""
    max_age = settings.edge_max_age if status < 400 else min(ERROR_MAX_AGE, settings.edge_max_age)
    return (
        f"max-age={max_age}, stale-while-revalidate={settings.edge_stale_while_revalidate}, "
        f"stale-if-error={settings.edge_stale_if_error}"
    )


class SurrogateMiddleware(ResponseStartMiddleware):
    """Writes `xkey` and `Surrogate-Control` from what the route recorded in request.state."""

    def on_response_start(self, scope: Scope, message: Message) -> None:
        headers = MutableHeaders(scope=message)
        state = scope.get("state") or {}
        keys = state.get("surrogate_keys")
        if keys:
            headers["xkey"] = " ".join(sorted(keys))
        status = message["status"]
        settings: PublishSettings | None = state.get("settings")
        cacheable = state.get("edge_cacheable") or scope["path"].startswith("/static/")
        if status == 404 and state.get("article_miss_brief"):
            # Possibly an embargoed story: gone from every cache within a second of its release.
            headers["surrogate-control"] = f"max-age={ARTICLE_MISS_MAX_AGE}, stale-while-revalidate=0, stale-if-error=0"
            headers["cache-control"] = f"public, max-age={ARTICLE_MISS_MAX_AGE}"
        if "surrogate-control" not in headers:
            if settings is not None and cacheable and status in EDGE_STATUSES:
                headers["surrogate-control"] = surrogate_control(settings, status)
            else:
                headers["surrogate-control"] = "no-store"
