"""WordPress bridge settings (env KABAR_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from services.wordpress.pull import Site
from shared.settings import KabarSettings


class WordPressSettings(KabarSettings):
    # The bridge uses Kabar's public ingest API like any newsroom system.
    wordpress_ingest_url: str = "http://127.0.0.1:8001"
    # A key of the newsroom to send with; empty: a key is made for each run and revoked after it.
    wordpress_api_key: SecretStr | None = None
    # Articles per bulk request (at most ingest's KABAR_MAX_BULK_ITEMS).
    wordpress_bulk_items: int = Field(default=200, ge=1, le=500)
    # Sites the workers pull on a schedule (Celery beat), as JSON:
    # [{"url": "https://berita.example/", "newsroom": "berita", "username": "kabar", "app_password": "..."}]
    wordpress_sites: list[Site] = Field(default_factory=list)
    wordpress_pull_seconds: float = Field(default=60.0, ge=5.0)
    wordpress_per_page: int = Field(default=50, ge=1, le=100)
    # Pages one periodic run sends at most (each run must fit the task time limit); the cursor goes on.
    wordpress_max_pages: int = Field(default=20, ge=1)
    # How often the periodic pull lists every post id to find deleted posts.
    wordpress_reconcile_seconds: float = Field(default=3600.0, ge=60.0)
