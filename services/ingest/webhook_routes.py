"""Newsroom API routes for webhook subscriptions: validate, call one service function, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.ingest import webhooks
from services.ingest.deps import AuthenticatedRoute, NewsroomDep, PublisherDep, RedisDep, SettingsDep
from services.ingest.routes import WRITE_RESPONSES
from services.ingest.webhook_schemas import DeliveryLog, Redelivery, WebhookCreated, WebhookIn, WebhookList, WebhookOut

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=AuthenticatedRoute)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: WRITE_RESPONSES[status] for status in (401, 404, 409, 413, 422, 429, 503)
}
SubId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=201, response_model=WebhookCreated, responses=_RESPONSES)
def create_webhook(body: WebhookIn, newsroom: NewsroomDep, redis: RedisDep, settings: SettingsDep) -> WebhookCreated:
    """Subscribe a URL to this newsroom's changes; the answer shows the signing secret, once.

    Deliveries are POSTs signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    """
    return webhooks.create(redis=redis, settings=settings, newsroom=newsroom.id, body=body)


@router.get("", response_model=WebhookList, responses=_RESPONSES)
def list_webhooks(newsroom: NewsroomDep, redis: RedisDep, settings: SettingsDep) -> WebhookList:
    """This newsroom's subscriptions (secrets are never listed)."""
    return webhooks.list_all(redis=redis, settings=settings, newsroom=newsroom.id)


@router.get("/{sub_id}", response_model=WebhookOut, responses=_RESPONSES)
def get_webhook(sub_id: SubId, newsroom: NewsroomDep, redis: RedisDep, settings: SettingsDep) -> WebhookOut:
    return webhooks.get(redis=redis, settings=settings, newsroom=newsroom.id, sub_id=sub_id)


@router.delete("/{sub_id}", status_code=204, response_class=Response, responses=_RESPONSES)
def delete_webhook(sub_id: SubId, newsroom: NewsroomDep, redis: RedisDep, settings: SettingsDep) -> Response:
    """Unsubscribe: no delivery starts after this (one in flight may still arrive)."""
    webhooks.delete(redis=redis, settings=settings, newsroom=newsroom.id, sub_id=sub_id)
    return Response(status_code=204)


@router.post("/{sub_id}/rotate-secret", response_model=WebhookCreated, responses=_RESPONSES)
def rotate_secret(sub_id: SubId, newsroom: NewsroomDep, redis: RedisDep, settings: SettingsDep) -> WebhookCreated:
    """A new signing secret, shown once; the old one stops signing at once."""
    return webhooks.rotate(redis=redis, settings=settings, newsroom=newsroom.id, sub_id=sub_id)


@router.get("/{sub_id}/deliveries", response_model=DeliveryLog, responses=_RESPONSES)
def list_deliveries(
    sub_id: SubId,
    newsroom: NewsroomDep,
    redis: RedisDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryLog:
    """Delivery attempts, newest first: event, article, attempt, status or error, duration, outcome."""
    return webhooks.deliveries(redis=redis, settings=settings, newsroom=newsroom.id, sub_id=sub_id, limit=limit)


@router.post(
    "/{sub_id}/deliveries/{event_id}/redeliver", status_code=202, response_model=Redelivery, responses=_RESPONSES
)
def redeliver(
    sub_id: SubId,
    event_id: Annotated[str, Path(max_length=300)],
    newsroom: NewsroomDep,
    redis: RedisDep,
    publisher: PublisherDep,
    settings: SettingsDep,
) -> Redelivery:
    """Send one event again (a dead one, or one the subscriber lost), in its article's order."""
    return webhooks.redeliver(
        redis=redis, publisher=publisher, settings=settings, newsroom=newsroom.id, sub_id=sub_id, event_id=event_id
    )
