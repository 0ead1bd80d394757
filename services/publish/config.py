"""Publish settings."""

from __future__ import annotations

from shared.settings import KabarSettings


class PublishSettings(KabarSettings):
    """Reader-side settings (env KABAR_*)."""

    site_name: str = "Kabar"
    default_locale: str = "id"
    page_size: int = 20
    max_query_chars: int = 500
