"""Kabar's WebSub hub, worker side: verification of intent, and content distribution when a feed changes.

Publish accepts a (un)subscription request and queues its verification (TASK_WEBSUB_VERIFY); nothing is
stored until the subscriber echoes the challenge. Every visible change marks the feeds it changes (the home
feeds, its section's feeds); one distribution per feed runs once search shows the change (feeds are
searches), however many changes arrived meanwhile, and fans out one delivery task per subscriber so a slow
or dead subscriber never holds up the others.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from shared.events import ArticleChange
from shared.messaging import TASK_WEBSUB_DISTRIBUTE, Queues
from shared.websub import (
    CallbackRefused,
    Subscription,
    SubscriptionStore,
    check_callback,
    feed_topics,
    link_header,
    parse_topic,
    signature,
)

if TYPE_CHECKING:
    from services.index.config import IndexSettings
    from services.index.taskbase import KabarTask

log = structlog.get_logger()

# A scheduled distribution holds its topic's "pending" mark at most this long: should its task be lost
# (dead-lettered), later changes schedule a new one after this.
PENDING_SECONDS = 300
# A subscriber's answer to a verification is read only this far: the challenge is 43 characters.
MAX_ECHO_BYTES = 1024


class WebSubDeliveryError(Exception):
    """A subscriber did not take the content (non-2xx other than 410, or no answer): retried with backoff."""


def _store(task: KabarTask) -> SubscriptionStore:
    return SubscriptionStore(task.ctx.redis, task.settings.prefix)


def _visible_after(settings: IndexSettings) -> int:
    # Whole seconds, rounded up: RabbitMQ's delayed delivery (quorum queues) counts in seconds.
    return math.ceil(settings.search_visibility_seconds)


def _schedule(task: KabarTask, topic: str, *, countdown: int, **kwargs: Any) -> None:
    task.app.send_task(
        TASK_WEBSUB_DISTRIBUTE,
        kwargs={"topic": topic, **kwargs},
        queue=Queues(task.settings.prefix).notify,
        countdown=countdown,
    )


def notify_changes(task: KabarTask, changes: list[ArticleChange]) -> None:
    """Notifier: mark the changed feeds that have subscribers, and schedule one distribution per feed."""
    settings = task.settings
    store = _store(task)
    redis = task.ctx.redis
    topics = sorted({t for change in changes for t in feed_topics(settings.site_url, change.section_slug)})
    exists = redis.pipeline(transaction=False)
    for topic in topics:
        exists.exists(store.key("subs", topic))
    subscribed = [t for t, found in zip(topics, exists.execute(), strict=True) if found]
    if not subscribed:
        return
    now = time.time()
    marks = redis.pipeline(transaction=True)
    for topic in subscribed:
        # "last" says when the newest change arrived (the distribution waits until search shows it);
        # "pending" makes a burst of changes schedule one distribution. One MULTI, so a distribution
        # that clears "pending" either sees this "last" or leaves this change to a task scheduled here.
        marks.set(store.key("last", topic), repr(now), ex=PENDING_SECONDS)
        marks.set(store.key("pending", topic), "1", nx=True, ex=PENDING_SECONDS)
    results = marks.execute()
    for topic, scheduled in zip(subscribed, results[1::2], strict=True):
        if not scheduled:
            continue
        try:
            _schedule(task, topic, countdown=_visible_after(settings))
        except Exception:
            redis.delete(store.key("pending", topic))  # the redelivered batch schedules it again
            raise


def verify(
    self: KabarTask, *, mode: str, topic: str, callback: str, lease_seconds: int, secret: str | None = None
) -> bool:
    """Verify a subscriber's intent (W3C WebSub 5.3): GET its callback with a challenge it must echo exactly.

    Only then is the subscription stored (or removed). A refusal (non-2xx, wrong echo) is final; no answer
    at all (connection refused, timeout) is retried with backoff like any transient failure.
    """
    settings = self.settings
    try:
        check_callback(callback, allow_private=settings.websub_allow_private_callbacks)
    except CallbackRefused as exc:
        log.warning("websub.verify_refused", topic=topic, reason=str(exc))
        return False
    challenge = secrets.token_urlsafe(32)
    params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
    if mode == "subscribe":
        params["hub.lease_seconds"] = str(lease_seconds)
    url = httpx.URL(callback).copy_merge_params(params)
    with (
        httpx.Client(timeout=settings.websub_timeout_seconds, follow_redirects=False) as client,
        client.stream("GET", url) as response,
    ):
        echo = b""
        for chunk in response.iter_bytes():
            echo += chunk
            if len(echo) > MAX_ECHO_BYTES:
                break
    if not response.is_success or echo != challenge.encode():
        log.info("websub.verify_failed", mode=mode, topic=topic, status=response.status_code)
        return False
    store = _store(self)
    if mode == "subscribe":
        sub = Subscription(topic=topic, callback=callback, expires_at=time.time() + lease_seconds, secret=secret)
        store.add(sub)
    else:
        store.remove(topic, callback)
    log.info("websub.verified", mode=mode, topic=topic, lease_seconds=lease_seconds)
    return True


def distribute(
    self: KabarTask,
    *,
    topic: str,
    callback: str | None = None,
    body: str | None = None,
    content_type: str | None = None,
) -> int:
    """Without a callback: fan the topic's current feed out to its subscribers (one task each).
    With one: deliver to that subscriber (a retry refetches the feed, so it never sends a stale copy)."""
    if callback is None:
        return _fan_out(self, topic)
    _deliver(self, topic=topic, callback=callback, body=body, content_type=content_type)
    return 1


def _fan_out(task: KabarTask, topic: str) -> int:
    settings = task.settings
    store = _store(task)
    redis = task.ctx.redis
    # Clear "pending" first: a change marked after this schedules its own distribution.
    redis.delete(store.key("pending", topic))
    last = redis.get(store.key("last", topic))
    wait = float(last) + settings.search_visibility_seconds - time.time() if last else 0.0
    if wait > 0:
        # A change arrived after this task was scheduled and is not searchable yet: distribute after it.
        if redis.set(store.key("pending", topic), "1", nx=True, ex=PENDING_SECONDS):
            _schedule(task, topic, countdown=math.ceil(wait))
        return 0
    subscribers = store.active(topic)
    if not subscribers:
        return 0
    fetched = _fetch(settings, topic)
    if fetched is None:
        return 0
    body, content_type = fetched
    for sub in subscribers:
        _schedule(task, topic, countdown=0, callback=sub.callback, body=body, content_type=content_type)
    log.info("websub.distributed", topic=topic, subscribers=len(subscribers))
    return len(subscribers)


def _fetch(settings: IndexSettings, topic: str) -> tuple[str, str] | None:
    """The feed as publish serves it now (None: publish no longer has it, e.g. a section's last story went)."""
    parsed = parse_topic(settings.site_url, topic)
    if parsed is None:
        log.warning("websub.unknown_topic", topic=topic)
        return None
    base = (settings.publish_internal_url or settings.site_url).rstrip("/")
    response = httpx.get(base + parsed.path, timeout=settings.websub_timeout_seconds)
    if response.status_code == 404:
        log.info("websub.topic_gone", topic=topic)
        return None
    response.raise_for_status()  # publish down or failing: retried with backoff (RETRIED)
    return response.text, response.headers.get("content-type", parsed.content_type)


def _deliver(self: KabarTask, *, topic: str, callback: str, body: str | None, content_type: str | None) -> None:
    settings = self.settings
    store = _store(self)
    sub = store.get(topic, callback)
    if sub is None or not sub.active():
        log.info("websub.delivery_skipped", topic=topic, reason="not subscribed")
        return
    try:
        check_callback(callback, allow_private=settings.websub_allow_private_callbacks)
    except CallbackRefused as exc:
        log.warning("websub.delivery_refused", topic=topic, reason=str(exc))
        return
    if body is None:
        fetched = _fetch(settings, topic)
        if fetched is None:
            return
        body, content_type = fetched
    data = body.encode()
    headers = {
        "Content-Type": content_type or "application/xml; charset=utf-8",
        "Link": link_header(settings.site_url, topic),
    }
    if sub.secret:
        headers["X-Hub-Signature"] = signature(sub.secret, data)
    try:
        response = httpx.post(
            callback, content=data, headers=headers, timeout=settings.websub_timeout_seconds, follow_redirects=False
        )
    except httpx.TransportError as exc:
        raise _retry(self, topic, callback, WebSubDeliveryError(f"{type(exc).__name__}: {exc}")) from exc
    if response.status_code == 410:
        # The spec's way for a subscriber to say it is gone for good.
        store.remove(topic, callback)
        log.info("websub.subscriber_gone", topic=topic)
        return
    if not response.is_success:
        raise _retry(self, topic, callback, WebSubDeliveryError(f"subscriber answered {response.status_code}"))
    log.info("websub.delivered", topic=topic, status=response.status_code, bytes=len(data))


def _retry(task: KabarTask, topic: str, callback: str, exc: Exception) -> Exception:
    """Retry this one delivery with backoff and jitter, with the feed fetched again at that time."""
    settings = task.settings
    backoff = min(2 ** (task.request.retries or 0), settings.retry_backoff_max_seconds)
    log.info("websub.delivery_retry", topic=topic, retries=task.request.retries, error=str(exc)[:200])
    # After max_retries the error itself is raised: the message is dead-lettered (replayable).
    return task.retry(
        exc=exc, countdown=backoff + secrets.randbelow(backoff + 1), kwargs={"topic": topic, "callback": callback}
    )
