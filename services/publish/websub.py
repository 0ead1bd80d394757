"""Kabar's WebSub hub, publish side: check a (un)subscription request and queue its verification.

Nothing is stored here: the subscription exists only once the notify worker has verified the subscriber's
intent (TASK_WEBSUB_VERIFY), so a request the subscriber never made can never become a subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

import structlog
from anyio import to_thread
from elasticsearch import AsyncElasticsearch

from services.publish import service
from services.publish.config import PublishSettings
from shared.errors import KabarError, ServiceUnavailable
from shared.es import IndexNames
from shared.messaging import TASK_WEBSUB_VERIFY, Queues
from shared.producer import BROKER_ERRORS, TaskProducer
from shared.websub import MAX_SECRET_BYTES, CallbackRefused, check_callback, parse_topic

log = structlog.get_logger()

MODES = ("subscribe", "unsubscribe")
# A request is a handful of short fields; anything longer is not one.
MAX_REQUEST_BYTES = 8 * 1024


class BadHubRequest(KabarError):
    status, title, type_slug = 400, "Bad WebSub request", "websub-bad-request"


@dataclass(frozen=True)
class HubRequest:
    mode: str
    topic: str
    callback: str
    lease_seconds: int
    secret: str | None


def parse_form(body: bytes, *, settings: PublishSettings) -> HubRequest:
    """The hub.* fields of an application/x-www-form-urlencoded body (W3C WebSub 5.1), or BadHubRequest."""
    if len(body) > MAX_REQUEST_BYTES:
        raise BadHubRequest("The request body is too large.")
    try:
        form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadHubRequest("The body must be application/x-www-form-urlencoded UTF-8.") from exc

    def field(name: str) -> str | None:
        values = form.get(name)
        if values and len(values) > 1:
            raise BadHubRequest(f"{name} is given more than once.")
        return values[0] if values else None

    mode = field("hub.mode")
    if mode not in MODES:
        raise BadHubRequest("hub.mode must be subscribe or unsubscribe.")
    topic, callback = field("hub.topic"), field("hub.callback")
    if not topic:
        raise BadHubRequest("hub.topic is required.")
    if not callback:
        raise BadHubRequest("hub.callback is required.")
    secret = field("hub.secret") or None
    if secret is not None and len(secret.encode()) > MAX_SECRET_BYTES:
        raise BadHubRequest("hub.secret must be shorter than 200 bytes.")
    return HubRequest(
        mode=mode,
        topic=topic,
        callback=callback,
        lease_seconds=_lease(field("hub.lease_seconds"), settings),
        secret=secret,
    )


def _lease(raw: str | None, settings: PublishSettings) -> int:
    """The lease the hub grants: the one asked for (a whole number of seconds) within the configured bounds."""
    if not raw:
        return settings.websub_lease_seconds
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise BadHubRequest("hub.lease_seconds must be a positive whole number of seconds.")
    return max(settings.websub_min_lease_seconds, min(int(raw), settings.websub_max_lease_seconds))


async def request_subscription(
    *,
    body: bytes,
    producer: TaskProducer,
    es: AsyncElasticsearch,
    names: IndexNames,
    settings: PublishSettings,
) -> HubRequest:
    """Validate the request (topic one of Kabar's feeds, callback a public http(s) URL) and queue verification."""
    request = parse_form(body, settings=settings)
    topic = parse_topic(settings.site_url, request.topic)
    if topic is None or (topic.section and await service.section_title(es=es, names=names, slug=topic.section) is None):
        raise BadHubRequest("hub.topic is not a feed this hub serves.")
    try:
        # Resolving the host blocks: off the event loop.
        await to_thread.run_sync(
            lambda: check_callback(request.callback, allow_private=settings.websub_allow_private_callbacks)
        )
    except CallbackRefused as exc:
        raise BadHubRequest(str(exc)) from exc
    kwargs = {
        "mode": request.mode,
        "topic": request.topic,
        "callback": request.callback,
        "lease_seconds": request.lease_seconds,
        "secret": request.secret,
    }
    try:
        await to_thread.run_sync(
            lambda: producer.send(TASK_WEBSUB_VERIFY, kwargs=kwargs, queue=Queues(settings.prefix).notify)
        )
    except BROKER_ERRORS as exc:
        log.warning("websub.broker_unavailable", error=repr(exc)[:200])
        raise ServiceUnavailable(
            "The hub cannot take requests right now; retry later.", headers={"Retry-After": "5"}
        ) from exc
    log.info("websub.requested", mode=request.mode, topic=request.topic, lease_seconds=request.lease_seconds)
    return request
