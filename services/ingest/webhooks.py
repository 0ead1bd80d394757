"""Webhook subscriptions of a newsroom: create, list, read, delete, rotate the secret, read the log, redeliver.

A newsroom sees only its own subscriptions: another's id is a 404, the same as an id that never existed.
"""

from __future__ import annotations

import time

import structlog
from kombu.exceptions import OperationalError
from redis import Redis

from services.ingest.config import IngestSettings
from services.ingest.publisher import EventPublisher
from services.ingest.webhook_schemas import DeliveryLog, Redelivery, WebhookCreated, WebhookIn, WebhookList, WebhookOut
from shared.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from shared.messaging import TASK_WEBHOOK_DELIVER, Queues
from shared.webhooks import Subscription, WebhookStore, WebhookUrlError, parse_target, resolve

log = structlog.get_logger()

_BROKER_ERRORS = (OperationalError, OSError, TimeoutError)


def _store(redis: Redis, settings: IngestSettings) -> WebhookStore:
    return WebhookStore(redis, settings.prefix)


def _owned(*, store: WebhookStore, newsroom: str, sub_id: str) -> Subscription:
    sub = store.get(newsroom=newsroom, sub_id=sub_id)
    if sub is None:
        raise NotFound(f"No webhook {sub_id!r} for this newsroom.")
    return sub


def check_url(url: str, *, allow_private: bool) -> None:
    """A 422 with a pointer at /url unless Kabar would send to this URL (the workers check again at delivery)."""
    try:
        resolve(parse_target(url), allow_private=allow_private)
    except WebhookUrlError as exc:
        raise Unprocessable(
            "The webhook URL is not allowed.", extra={"errors": [{"pointer": "/url", "detail": str(exc)}]}
        ) from None


def create(*, redis: Redis, settings: IngestSettings, newsroom: str, body: WebhookIn) -> WebhookCreated:
    """A new subscription with a fresh secret (shown once); 409 past the newsroom's maximum."""
    check_url(body.url, allow_private=settings.webhook_allow_private_urls)
    sub = _store(redis, settings).create(
        newsroom=newsroom,
        url=body.url,
        events=body.events,
        description=body.description,
        max_per_newsroom=settings.webhook_max_per_newsroom,
    )
    if sub is None:
        raise Conflict(f"This newsroom already has {settings.webhook_max_per_newsroom} webhooks; delete one first.")
    log.info("webhook.created", newsroom=newsroom, subscription_id=sub.id)
    return WebhookCreated.of(sub)


def list_all(*, redis: Redis, settings: IngestSettings, newsroom: str) -> WebhookList:
    return WebhookList(items=[WebhookOut.of(s) for s in _store(redis, settings).of_newsroom(newsroom=newsroom)])


def get(*, redis: Redis, settings: IngestSettings, newsroom: str, sub_id: str) -> WebhookOut:
    return WebhookOut.of(_owned(store=_store(redis, settings), newsroom=newsroom, sub_id=sub_id))


def delete(*, redis: Redis, settings: IngestSettings, newsroom: str, sub_id: str) -> None:
    if not _store(redis, settings).delete(newsroom=newsroom, sub_id=sub_id):
        raise NotFound(f"No webhook {sub_id!r} for this newsroom.")
    log.info("webhook.deleted", newsroom=newsroom, subscription_id=sub_id)


def rotate(*, redis: Redis, settings: IngestSettings, newsroom: str, sub_id: str) -> WebhookCreated:
    """A new secret, shown once; deliveries signed from now on use it."""
    sub = _store(redis, settings).rotate(newsroom=newsroom, sub_id=sub_id)
    if sub is None:
        raise NotFound(f"No webhook {sub_id!r} for this newsroom.")
    log.info("webhook.secret_rotated", newsroom=newsroom, subscription_id=sub_id)
    return WebhookCreated.of(sub)


def deliveries(*, redis: Redis, settings: IngestSettings, newsroom: str, sub_id: str, limit: int) -> DeliveryLog:
    store = _store(redis, settings)
    _owned(store=store, newsroom=newsroom, sub_id=sub_id)
    return DeliveryLog(items=store.deliveries(sub_id, limit=limit), limit=limit)


def redeliver(
    *, redis: Redis, publisher: EventPublisher, settings: IngestSettings, newsroom: str, sub_id: str, event_id: str
) -> Redelivery:
    """Send one stored event to the subscriber again, in its article's order, with fresh attempts."""
    store = _store(redis, settings)
    sub = _owned(store=store, newsroom=newsroom, sub_id=sub_id)
    event = store.event(event_id)
    if event is None or event.get("newsroom") != newsroom or event.get("kind") not in sub.events:
        raise NotFound(f"No stored event {event_id!r} for this webhook (bodies are kept for a limited time).")
    uid, revision = str(event["uid"]), int(event["revision"])
    if not store.requeue(
        sub_id=sub_id, event_id=event_id, uid=uid, revision=revision, ttl=settings.webhook_retention_seconds
    ):
        raise NotFound(f"No stored event {event_id!r} for this webhook.")
    kwargs = {
        "subscription_id": sub_id,
        "event_id": event_id,
        "uid": uid,
        "revision": revision,
        "attempt": 1,
        "queued_at": time.time(),
        "occurred_at": None,  # a replay is not a delivery lag
    }
    try:
        publisher.app.send_task(
            TASK_WEBHOOK_DELIVER,
            kwargs=kwargs,
            queue=Queues(settings.prefix).notify,
            retry=False,
            confirm_timeout=publisher.confirm_timeout,
            headers={"article_ids": uid},
        )
    except Exception as exc:
        # Broker errors, and amqp's own (a nack, a channel error): the event leaves pending again (the
        # article's next deliveries must not wait for a task that was never sent); the newsroom can ask again.
        if not isinstance(exc, _BROKER_ERRORS) and not type(exc).__module__.startswith(("amqp", "kombu")):
            raise
        store.unqueue(
            sub_id=sub_id, event_id=event_id, uid=uid, revision=revision, ttl=settings.webhook_retention_seconds
        )
        log.warning("webhook.redeliver_unavailable", error=repr(exc)[:200])
        raise ServiceUnavailable(
            "The message broker is unavailable. Retry later.",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        ) from exc
    log.info("webhook.redeliver", newsroom=newsroom, subscription_id=sub_id, event_id=event_id)
    return Redelivery(event_id=event_id)
