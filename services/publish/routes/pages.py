"""Reader HTML pages."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.publish import repository
from services.publish.deps import EsDep, LocaleDep, NamesDep
from services.publish.views import article_context
from shared.errors import Gone, NotFound

router = APIRouter(include_in_schema=False)

_UID_TAIL = re.compile(r"-([0-9a-f]{16})$")


@router.get("/{section}/{year}/{month}/{day}/{slug_uid}", response_class=HTMLResponse)
async def article_page(slug_uid: str, request: Request, es: EsDep, names: NamesDep, locale: LocaleDep) -> Response:
    """An article at its readable URL; any other path to the same uid is redirected (301)."""
    match = _UID_TAIL.search(slug_uid)
    if not match:
        raise NotFound("No such article.")
    article = await repository.get_article(es=es, names=names, uid=match.group(1))
    if article is None:
        raise NotFound("No such article.")
    if article.get("status") != "published":
        raise Gone("This article was withdrawn.")
    if request.url.path != article["path"]:
        return RedirectResponse(article["path"], status_code=301)
    related = await repository.get_related(es=es, names=names, uid=article["uid"])
    return request.state.templates.TemplateResponse(
        request, "article.html", {**article_context(article, related, locale=locale)}
    )
