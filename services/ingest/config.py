"""Ingest settings."""

from __future__ import annotations

from pydantic import Field

from shared.settings import KabarSettings


class IngestSettings(KabarSettings):
    """Limits and hand-off settings for the newsroom API (env KABAR_*)."""

    max_request_bytes: int = 5_000_000
    max_body_chars: int = 500_000
    max_bulk_items: int = 500
    confirm_timeout_seconds: float = 5.0
    retry_after_seconds: int = 5
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    # Articles per newsroom and minute, bulk items included; unset, the same number as the request limit.
    rate_limit_articles_per_minute: int | None = Field(default=None, ge=1)
    # Requests without a valid key, per client address: enough for a newsroom fixing its configuration,
    # too few to guess keys or to make ingest do work for nobody.
    unauthenticated_rate_limit_per_minute: int = Field(default=120, ge=1)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    # Stored answers are compressed; one larger than this keeps only its counts, not its items.
    idempotency_max_answer_bytes: int = Field(default=65_536, ge=0)
    # What one newsroom's stored answers may hold at once; beyond it only counts are kept.
    idempotency_max_bytes_per_newsroom: int = Field(default=32_000_000, ge=0)

    # Webhook subscriptions one newsroom may hold.
    webhook_max_per_newsroom: int = Field(default=20, ge=1)

    @property
    def article_limit_per_minute(self) -> int:
        return self.rate_limit_articles_per_minute or self.rate_limit_per_minute
