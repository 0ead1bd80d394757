"""RSS and Atom feeds, sitemaps (split at the 50,000-URL limit), the Google News sitemap and robots.txt."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.publish import feeds, repository, service
from services.publish.caching import cached_response
from services.publish.deps import EsDep, NamesDep, SettingsDep
from services.publish.surrogate import edge_cacheable
from shared.errors import NotFound
from shared.purge import FEEDS, SITEMAPS, section_key
from shared.websub import hub_url, link_header

router = APIRouter(include_in_schema=False)
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
# A month of the sitemap index ("2024-05") and an optional part from 2 ("2024-05-2"). Anything else is
# a name no sitemap has: 404 here, never a query that Elasticsearch would refuse (a 503 for the reader).
# Any four-digit year: the index lists every month an article is dated in (ingest takes any date, and
# an archive's oldest stories or a typo'd year are still pages readers and crawlers can reach).
# Year 0 exists in neither Python nor ISO dates as Elasticsearch reads them (it refuses the query).
_PART = re.compile(r"((?!0000)\d{4}-(?:0[1-9]|1[0-2]))(?:-([1-9]\d{0,3}))?", re.ASCII)


async def _feed(
    request: Request, *, es: EsDep, names: NamesDep, settings: SettingsDep, section: str | None, kind: str
) -> Response:
    # Every change purges every feed (FEEDS): feeds are few, and a new story belongs at the top of two.
    edge_cacheable(request, FEEDS, *([section_key(section)] if section else []))
    base = settings.site_url.rstrip("/")
    title = settings.site_name
    if section:
        name = await service.section_title(es=es, names=names, slug=section)
        if name is None:
            raise NotFound("No such section.")
        title = f"{settings.site_name} · {name}"
    items = await repository.feed_items(es=es, names=names, section_slug=section)
    link = f"{base}/{section}" if section else f"{base}/"
    # The self URL is the WebSub topic: canonical under site_url, whatever host the reader came through.
    self_url = base + request.url.path
    hub = hub_url(settings.site_url)
    if kind == "rss":
        body = feeds.rss(
            items=items,
            title=title,
            link=link,
            self_url=self_url,
            base_url=base,
            language=settings.default_locale,
            hub_url=hub,
        )
    else:
        body = feeds.atom(items=items, title=title, link=link, self_url=self_url, base_url=base, hub_url=hub)
    response = cached_response(
        request,
        body=body,
        media_type=RSS if kind == "rss" else ATOM,
        max_age=settings.feed_max_age,
        last_modified=service.last_modified(*items[:1]),
    )
    response.headers["Link"] = link_header(settings.site_url, self_url)  # WebSub discovery (W3C WebSub 4)
    return response


@router.get("/rss.xml")
async def home_rss(request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    return await _feed(request, es=es, names=names, settings=settings, section=None, kind="rss")


@router.get("/atom.xml")
async def home_atom(request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    return await _feed(request, es=es, names=names, settings=settings, section=None, kind="atom")


@router.get("/{section}/rss.xml")
async def section_rss(request: Request, section: str, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    return await _feed(request, es=es, names=names, settings=settings, section=section, kind="rss")


@router.get("/{section}/atom.xml")
async def section_atom(request: Request, section: str, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    return await _feed(request, es=es, names=names, settings=settings, section=section, kind="atom")


def _sitemap(request: Request) -> None:
    # Every change purges every sitemap (SITEMAPS): which month or part a story lands in is not worth knowing.
    edge_cacheable(request, SITEMAPS)


@router.get("/sitemap.xml")
async def sitemap_index(request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    """One sitemap per month of publication, split into parts of at most sitemap_max_urls URLs."""
    _sitemap(request)
    base = settings.site_url.rstrip("/")
    entries: list[tuple[str, str | None]] = [(f"{base}/sitemaps/news.xml", None)]
    for month in await repository.sitemap_months(es=es, names=names):
        parts = -(-month["count"] // settings.sitemap_max_urls)
        for part in range(parts):
            suffix = f"-{part + 1}" if part else ""
            entries.append((f"{base}/sitemaps/{month['month']}{suffix}.xml", month["lastmod"]))
    return cached_response(
        request, body=feeds.sitemap_index(entries=entries), media_type=XML, max_age=settings.feed_max_age
    )


@router.get("/sitemaps/news.xml")
async def news_sitemap(request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    _sitemap(request)
    items = await repository.recent_news(es=es, names=names, hours=48)
    body = feeds.news_urlset(items=items, base_url=settings.site_url.rstrip("/"), publication=settings.site_name)
    return cached_response(request, body=body, media_type=XML, max_age=settings.feed_max_age)


@router.get("/sitemaps/{name}.xml")
async def month_sitemap(name: str, request: Request, es: EsDep, names: NamesDep, settings: SettingsDep) -> Response:
    _sitemap(request)
    match = _PART.fullmatch(name)
    if not match:
        raise NotFound("No such sitemap.")
    month, part = match.group(1), int(match.group(2) or 1) - 1
    items = [
        i
        async for i in repository.sitemap_urls(
            es=es, names=names, month=month, part=part, max_urls=settings.sitemap_max_urls
        )
    ]
    if not items:
        raise NotFound("No such sitemap.")
    body = feeds.urlset(items=items, base_url=settings.site_url.rstrip("/"))
    return cached_response(request, body=body, media_type=XML, max_age=settings.feed_max_age)


@router.get("/robots.txt")
async def robots(request: Request, settings: SettingsDep) -> Response:
    edge_cacheable(request)  # no key: it changes only with the settings (a deploy), edge_max_age bounds it
    base = settings.site_url.rstrip("/")
    body = f"User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /cari\n\nSitemap: {base}/sitemap.xml\n"
    return cached_response(request, body=body.encode(), media_type="text/plain; charset=utf-8", max_age=3600)
