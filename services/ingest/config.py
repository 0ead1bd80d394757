"""Ingest settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

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

    # The moderation page (/moderasi). Its session cookie and CSRF tokens are signed with this key: set a long
    # random value in production (a new one logs every moderator out, nothing else).
    moderation_session_secret: SecretStr = SecretStr("kabar-development-moderation-secret")
    moderation_cookie_name: str = Field(default="kabar_moderasi", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # A moderator logs in again after this long, however active.
    moderation_session_seconds: int = Field(default=8 * 3600, ge=60)
    # Cookies marked Secure: unset, when the request came over https (uvicorn --proxy-headers behind a proxy).
    moderation_cookie_secure: bool | None = None
    # Login attempts per client address and minute: each costs an scrypt, and passwords must not be guessable.
    moderation_login_per_minute: int = Field(default=10, ge=1)
    # How often the comment queue gauges are recounted and unsent thread changes are sent again.
    moderation_refresh_seconds: float = Field(default=15.0, gt=0)

    @property
    def article_limit_per_minute(self) -> int:
        return self.rate_limit_articles_per_minute or self.rate_limit_per_minute
