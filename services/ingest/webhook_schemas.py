"""Request and response bodies of the newsroom API's webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events import ChangeKind
from shared.webhooks import ALL_KINDS, MAX_URL_CHARS, DeliveryRecord, Subscription


class WebhookIn(BaseModel):
    """A new subscription: where to send, which change kinds (all by default), a note for the newsroom."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_CHARS, examples=["https://example.org/kabar-hook"])
    events: list[ChangeKind] = Field(default_factory=lambda: list(ALL_KINDS), min_length=1, max_length=len(ALL_KINDS))
    description: str | None = Field(default=None, max_length=500)

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[ChangeKind]) -> list[ChangeKind]:
        return [k for k in ALL_KINDS if k in events]


class WebhookOut(BaseModel):
    """A subscription as listed: never its secret."""

    id: str
    url: str
    events: list[ChangeKind]
    description: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, sub: Subscription) -> WebhookOut:
        return cls(id=sub.id, url=sub.url, events=sub.events, description=sub.description, created_at=sub.created_at)


class WebhookCreated(WebhookOut):
    """A subscription just made (or its secret just rotated): the secret is shown this once."""

    secret: str = Field(description="Standard Webhooks secret (`whsec_` + base64); verify `webhook-signature` with it.")

    @classmethod
    def of(cls, sub: Subscription) -> WebhookCreated:
        return cls(**WebhookOut.of(sub).model_dump(), secret=sub.secret)


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryLog(BaseModel):
    """A subscription's delivery attempts, newest first."""

    items: list[DeliveryRecord]
    limit: int


class Redelivery(BaseModel):
    event_id: str
    result: str = "queued"
