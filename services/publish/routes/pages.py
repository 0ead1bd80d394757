"""Reader HTML pages: home, sections, tags, authors, search and articles."""

from __future__ import annotations

import asyncio
from typing import Annotated

from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from services.publish import repository, search, service
from services.publish.comments import service as comments
from services.publish.comments.counts import comment_counts as counts_of
from services.publish.comments.counts import most_discussed, with_counts
from services.publish.comments.errors import CommentsUnavailable
from services.publish.comments.views import thread_context
from services.publish.config import PublishSettings
from services.publish.deps import DbDep, EsDep, LocaleDep, NamesDep, SearchDep, SettingsDep
from services.publish.rendering import render_html, render_page, respond_html
from services.publish.surrogate import edge_cacheable, mark
from services.publish.views import article_context, list_item, page_links
from shared.es import IndexNames
from shared.purge import HOME, article_key, author_key, section_key, shows_key, tag_key

router = APIRouter(include_in_schema=False)
PageDep = Annotated[int, Query(ge=1, le=500)]
MOST_DISCUSSED = 5


@router.get("/")
async def home(request: Request, es: EsDep, names: NamesDep, locale: LocaleDep) -> Response:
    edge_cacheable(request, HOME)
    data = await repository.home(es=es, names=names)
    listed = [*data["items"], *(i for s in data["sections"] for i in s["items"])]
    counts, discussed = await asyncio.gather(
        counts_of(es=es, names=names, uids=[i["uid"] for i in listed if i.get("uid")]),
        most_discussed(es=es, names=names, size=MOST_DISCUSSED),
    )
    mark(request, *_shown(*listed, *discussed))
    items = [list_item(i, locale=locale) for i in with_counts(data["items"], counts)]
    sections = [
        {**s, "items": [list_item(i, locale=locale) for i in with_counts(s["items"], counts)]} for s in data["sections"]
    ]
    return render_page(
        request,
        "home.html",
        {
            "items": items,
            "sections": sections,
            "most_discussed": [list_item(i, locale=locale) for i in discussed],
            "canonical_path": "/",
            "feed_path": "/rss.xml",
        },
        last_modified=service.last_modified(*data["items"][:1]),
    )


@router.get("/cari")
async def search_page(
    request: Request, es: EsDep, names: NamesDep, settings: SettingsDep, locale: LocaleDep, params: SearchDep
) -> Response:
    result = await search.search(es=es, names=names, params=params, max_chars=settings.max_query_chars)
    counts = await counts_of(es=es, names=names, uids=[r["uid"] for r in result["results"] if r.get("uid")])
    result["results"] = [list_item(r, locale=locale) for r in with_counts(result["results"], counts)]
    query = {**result["filters"], "q": result["q"], "sort": params.sort if params.sort != "relevance" else None}
    if locale != settings.default_locale:
        query["lang"] = locale
    return render_page(
        request,
        "search.html",
        {
            "result": result,
            "q": result["q"],
            "params": params,
            "query": query,
            "pager": page_links(path="/cari", params=query, page=result["page"], pages=result["pages"]),
            "noindex": True,
        },
        max_age=30,
    )


@router.get("/topik/{tag}")
async def tag_page(
    request: Request,
    tag: Annotated[str, Path(max_length=100)],
    es: EsDep,
    names: NamesDep,
    settings: SettingsDep,
    locale: LocaleDep,
    page: PageDep = 1,
) -> Response:
    edge_cacheable(request, tag_key(tag))
    listing = await service.facet_listing(
        es=es, names=names, field="tags", value=tag, page=page, size=settings.page_size
    )
    return await _listing(request, listing, es=es, names=names, kind="tag", locale=locale)


@router.get("/penulis/{author}")
async def author_page(
    request: Request,
    author: Annotated[str, Path(max_length=300)],
    es: EsDep,
    names: NamesDep,
    settings: SettingsDep,
    locale: LocaleDep,
    page: PageDep = 1,
) -> Response:
    edge_cacheable(request, author_key(author))
    listing = await service.facet_listing(
        es=es, names=names, field="authors", value=author, page=page, size=settings.page_size
    )
    return await _listing(request, listing, es=es, names=names, kind="author", locale=locale)


@router.get("/{section}")
async def section_page(
    request: Request,
    section: str,
    es: EsDep,
    names: NamesDep,
    settings: SettingsDep,
    locale: LocaleDep,
    page: PageDep = 1,
) -> Response:
    edge_cacheable(request, section_key(section))
    listing = await service.section_listing(es=es, names=names, slug=section, page=page, size=settings.page_size)
    return await _listing(
        request, listing, es=es, names=names, kind="section", locale=locale, feed_path=f"/{section}/rss.xml"
    )


@router.get("/{section}/{year}/{month}/{day}/{slug_uid}")
async def article_page(
    slug_uid: str, request: Request, es: EsDep, names: NamesDep, db: DbDep, settings: SettingsDep, locale: LocaleDep
) -> Response:
    """An article at its readable URL; any other path to the same uid is redirected (301)."""
    edge_cacheable(request, article=True)
    uid = service.uid_in(slug_uid)
    if uid:  # before the read: a 404 or 410 for this article is purged with it too
        mark(request, article_key(uid))
    key = (request.url.path, locale)
    cached = request.state.page_cache.get(key)
    if cached is not None:
        mark(request, *(shows_key(u) for u in cached.uids if u != uid))
        return respond_html(request, cached.body, last_modified=cached.last_modified)
    article, related = await service.article_page_data(es=es, names=names, slug_uid=slug_uid)
    if request.url.path != article["path"]:
        target = article["path"] + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(target, status_code=301)
    context = article_context(
        article, related, locale=locale, base_url=settings.site_url.rstrip("/"), site_name=settings.site_name
    )
    context["thread"] = await _first_thread_page(article, db=db, settings=settings, locale=locale)
    body = render_html(request, "article.html", context)
    shown = [article["uid"], *(item["uid"] for item in related)]
    mark(request, *_shown(*related))
    if context["thread"]["available"]:
        request.state.page_cache.put(key, body, service.last_modified(article), uids=shown)
    else:
        # The notice in place of the thread must not outlive PostgreSQL's outage in any cache.
        request.state.edge_cacheable = False
    return respond_html(request, body, last_modified=service.last_modified(article))


async def _first_thread_page(article: dict, *, db: Engine, settings: PublishSettings, locale: str) -> dict:
    """The thread as the article page shows it (page 1, oldest first), or a notice when PostgreSQL is down."""
    try:
        page = await comments.thread(engine=db, settings=settings, article=article, page=1, order="lama")
    except CommentsUnavailable:
        return thread_context(
            None, uid=article["uid"], number=1, order="lama", size=settings.comment_page_size, open_=False, locale=None
        )
    return thread_context(
        page,
        uid=article["uid"],
        number=1,
        order="lama",
        size=settings.comment_page_size,
        open_=comments.is_open(page, article),
        locale=locale if locale != settings.default_locale else None,
    )


def _shown(*items: dict) -> list[str]:
    """Keys of the stories a page shows: a change to any of them purges the page."""
    return [shows_key(i["uid"]) for i in items if i.get("uid")]


async def _listing(
    request: Request,
    listing: dict,
    *,
    es: AsyncElasticsearch,
    names: IndexNames,
    kind: str,
    locale: str,
    feed_path: str | None = None,
) -> Response:
    mark(request, *_shown(*listing["items"]))
    counts = await counts_of(es=es, names=names, uids=[i["uid"] for i in listing["items"] if i.get("uid")])
    items = [list_item(i, locale=locale) for i in with_counts(listing["items"], counts)]
    params = {"lang": request.query_params.get("lang")}
    return render_page(
        request,
        "listing.html",
        {
            "kind": kind,
            "heading": listing["heading"],
            "items": items,
            "page": listing["page"],
            "pages": listing["pages"],
            "pager": page_links(path=request.url.path, params=params, page=listing["page"], pages=listing["pages"]),
            "canonical_path": request.url.path + (f"?page={listing['page']}" if listing["page"] > 1 else ""),
            "feed_path": feed_path,
        },
        last_modified=service.last_modified(*listing["items"][:1]),
    )
