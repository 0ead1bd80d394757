"""Publish settings."""

from __future__ import annotations

from shared.settings import KabarSettings


class PublishSettings(KabarSettings):
    """Reader-side settings (env KABAR_*)."""

    site_name: str = "Kabar"
    default_locale: str = "id"
    page_size: int = 20
    max_query_chars: int = 500
    # Sitemaps may list at most 50,000 URLs each (sitemaps.org); tests lower it to exercise the split.
    sitemap_max_urls: int = 50_000
    page_max_age: int = 60
    feed_max_age: int = 300
    # Rendered article pages are served from memory this long (0 disables); a purge notice evicts them at once.
    page_cache_seconds: float = 5.0
    # After a purge, pages showing the purged stories are not cached this long: search sees a withdrawal
    # only after the next index refresh (1 s), and a page rendered before it must not be kept.
    purge_settle_seconds: float = 3.0
