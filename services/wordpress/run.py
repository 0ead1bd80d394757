"""One run of the bridge against Kabar's ingest API, for the command line and the periodic task alike.

The key sent is the newsroom's from KABAR_WORDPRESS_API_KEY when set, otherwise one made for the run and
revoked when it ends (whoever runs the bridge already holds Redis, where keys live).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import httpx
from redis import Redis

from services.wordpress import http
from services.wordpress.config import WordPressSettings
from services.wordpress.pull import Site, SiteState, pull, reconcile
from services.wordpress.sink import IngestSink, Tally
from shared import apikeys


@contextlib.contextmanager
def ingest_client(settings: WordPressSettings, redis: Redis, newsroom: str) -> Iterator[httpx.Client]:
    """An ingest API client holding a key of the newsroom (see the module's docstring)."""
    given = settings.wordpress_api_key.get_secret_value() if settings.wordpress_api_key else None
    key = given or apikeys.create_key(redis=redis, prefix=settings.prefix, newsroom=newsroom)
    client = http.client(settings.wordpress_ingest_url)
    client.headers["Authorization"] = f"Bearer {key}"
    try:
        yield client
    finally:
        client.close()
        if not given:
            apikeys.revoke_key(redis=redis, prefix=settings.prefix, key=key)


def run_pull(
    settings: WordPressSettings,
    redis: Redis,
    site: Site,
    *,
    per_page: int,
    reconciling: bool,
    max_pages: int | None = None,
) -> Tally:
    """One pull of one site (the CLI and the periodic task)."""
    state = SiteState(redis, settings.prefix, site)
    with ingest_client(settings, redis, site.newsroom) as ingest, http.client(site.url, auth=site.auth()) as wp:
        sink = IngestSink(ingest, max_bulk_items=settings.wordpress_bulk_items)
        progress = sys.stderr.isatty()
        tally = pull(site, wp=wp, sink=sink, state=state, per_page=per_page, progress=progress, max_pages=max_pages)
        if reconciling:
            tally.add(reconcile(site, wp=wp, sink=sink, state=state))
    return tally
