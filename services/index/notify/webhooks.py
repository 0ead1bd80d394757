"""Newsroom webhooks: record each visible change for its subscribers, then deliver, signed, in revision order.

The notifier runs inline in the indexing task and only records (one script call) and enqueues; each
delivery task then posts one event to one subscriber. Per subscriber and article, events go out in revision
order: a delivery waits (a fresh message after a short countdown, not an attempt) while a lower revision is
still pending, so an update never overtakes a publish the subscriber refused. A failed attempt is retried
with exponential backoff and jitter; after webhook_max_attempts the event is dead: logged, taken out of
pending (so the article's later events flow) and its message rejected into the dead-letter queue, from
where `kabar dead-letters replay` (or the API's redeliver) sends it again.
"""

from __future__ import annotations

import functools
import math
import random
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import certifi
import httpx
import structlog
from prometheus_client import Counter, Histogram

from shared.events import ArticleChange
from shared.messaging import TASK_WEBHOOK_DELIVER, Queues
from shared.webhooks import (
    DeliveryRecord,
    Outcome,
    WebhookStore,
    WebhookUrlError,
    event_body,
    parse_target,
    resolve,
    signed_headers,
)

if TYPE_CHECKING:
    from services.index.config import IndexSettings
    from services.index.taskbase import KabarTask

log = structlog.get_logger()

# A subscriber's answer is not read beyond this: only its status matters.
MAX_RESPONSE_BYTES = 4096
USER_AGENT = "Kabar-Webhooks/1"

WEBHOOK_DELIVERIES = Counter(
    "kabar_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, retrying, dead)", ["outcome"]
)
WEBHOOK_LAG = Histogram(
    "kabar_webhook_delivery_lag_seconds",
    "From the change becoming visible (occurred_at) to the subscriber's 2xx, first deliveries only",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10, 30, 60, 300, 1800),
)


class WebhookDeadLettered(Exception):
    """An event that failed every attempt: the task fails so RabbitMQ dead-letters its message."""


def notify(task: KabarTask, changes: list[ArticleChange]) -> None:
    """Record the batch's changes for every subscription that wants them and send one delivery task each."""
    settings = task.settings
    store = WebhookStore(task.ctx.redis, settings.prefix)
    bodies = [(change, event_body(change, site_url=settings.site_url)) for change in changes]
    recorded = store.record(bodies, ttl=settings.webhook_retention_seconds)
    occurred = {change.event_id: change.occurred_at.isoformat() for change in changes}
    for item in recorded:
        send(
            task,
            subscription_id=item.subscription_id,
            event_id=item.event_id,
            uid=item.uid,
            revision=item.revision,
            attempt=1,
            queued_at=time.time(),
            occurred_at=occurred.get(item.event_id),
        )


def delay_seconds(seconds: float) -> int | None:
    """A countdown RabbitMQ's delayed delivery keeps: whole seconds, rounded up to an even number.

    Celery delays tasks on quorum queues through kombu's chain of celery_delayed_{level} queues, one per bit
    of the countdown. On the RabbitMQ here every message whose countdown had the lowest bit set (1 s, 3 s,
    5 s) vanished in the last level while 2 s and 4 s arrived; an even countdown never enters that queue.
    """
    if seconds <= 0:
        return None
    whole = math.ceil(seconds)
    return whole + (whole % 2)


def send(task: KabarTask, *, countdown: float = 0, **kwargs: Any) -> None:
    """One delivery task on the notify queue, after `countdown` seconds (see delay_seconds)."""
    task.app.send_task(
        TASK_WEBHOOK_DELIVER,
        kwargs=kwargs,
        queue=Queues(task.settings.prefix).notify,
        countdown=delay_seconds(countdown),
        headers={"article_ids": kwargs["uid"]},
    )


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds before attempt `attempt + 1`: exponential, capped, with jitter over its upper half."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return random.uniform(delay / 2, delay)


@dataclass(frozen=True)
class Answer:
    """What one POST to a subscriber came to."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS configuration per process: loading the CA bundle took most of a delivery to a fast subscriber."""
    return ssl.create_default_context(cafile=certifi.where())


def post(*, url: str, body: str, headers: dict[str, str], timeout: float, allow_private: bool) -> Answer:
    """POST a signed body: the target resolved and checked now, connected to by the checked address.

    Redirects are not followed (a 3xx is a failure: a redirect could lead anywhere) and the answer is read
    up to MAX_RESPONSE_BYTES. A client per delivery: deliveries to one subscriber are seconds apart at least
    and the pinned address can change between them, so a kept pool would rarely be reused.
    """
    started = time.perf_counter()

    def answer(status: int | None, error: str | None) -> Answer:
        return Answer(status, error, round((time.perf_counter() - started) * 1000, 2))

    try:
        target = parse_target(url)
        address = resolve(target, allow_private=allow_private)[0]
    except WebhookUrlError as exc:
        return answer(None, f"refused: {exc}")
    request_headers = {
        **headers,
        "host": target.host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    # The certificate is checked against the name, while the connection goes to the checked address.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        # trust_env off: a proxy from the environment would resolve the name itself, past the address check.
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context()) as client:
            request = client.build_request(
                "POST",
                target.pinned_url(address),
                content=body.encode(),
                headers=request_headers,
                extensions=extensions,
            )
            response = client.send(request, stream=True)
            try:
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break
                return answer(response.status_code, None)
            finally:
                response.close()
    except httpx.HTTPError as exc:
        return answer(None, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__)


def deliver(
    task: KabarTask,
    *,
    subscription_id: str,
    event_id: str,
    uid: str,
    revision: int,
    attempt: int,
    queued_at: float,
    occurred_at: str | None,
) -> str:
    """One attempt at one event for one subscriber (or a wait behind a lower revision); returns what happened."""
    settings: IndexSettings = task.settings
    store = WebhookStore(task.ctx.redis, settings.prefix)
    token = uuid.uuid4().hex
    lock_ms = int((settings.webhook_timeout_seconds * 3 + 5) * 1000)
    waited_too_long = time.time() - queued_at > settings.webhook_order_wait_max_seconds
    claim = store.claim(
        sub_id=subscription_id,
        event_id=event_id,
        uid=uid,
        revision=revision,
        token=token,
        lock_ms=lock_ms,
        force=waited_too_long,
    )
    again = {
        "subscription_id": subscription_id,
        "event_id": event_id,
        "uid": uid,
        "revision": revision,
        "queued_at": queued_at,
        "occurred_at": occurred_at,
    }
    if claim.state in ("wait", "busy"):
        # Not an attempt: the subscriber has not been asked yet.
        send(task, countdown=settings.webhook_order_wait_seconds, attempt=attempt, **again)
        return claim.state
    if claim.state != "go":
        return claim.state
    if claim.replay:
        attempt = 1  # a dead letter sent again gets its attempts afresh
    timestamp = int(time.time())
    headers = signed_headers(secret=claim.secret, message_id=event_id, body=claim.body, timestamp=timestamp)
    answer = post(
        url=claim.url,
        body=claim.body,
        headers=headers,
        timeout=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private_urls,
    )
    outcome: Outcome = "delivered" if answer.ok else "retrying" if attempt < settings.webhook_max_attempts else "dead"
    facts = store.event(event_id) or {}
    record = DeliveryRecord(
        event_id=event_id,
        uid=uid,
        external_id=facts.get("external_id"),
        kind=facts.get("kind"),
        attempt=attempt,
        status_code=answer.status_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        at=datetime.now(UTC),
        outcome=outcome,
    )
    store.finish(
        sub_id=subscription_id,
        uid=uid,
        revision=revision,
        token=token,
        record=record,
        log_size=settings.webhook_log_size,
        ttl=settings.webhook_retention_seconds,
    )
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    lag = None
    if outcome == "delivered" and occurred_at and not claim.replay:
        lag = (record.at - datetime.fromisoformat(occurred_at)).total_seconds()
        WEBHOOK_LAG.observe(lag)
    log.info(
        "webhook.attempt",
        subscription_id=subscription_id,
        event_id=event_id,
        attempt=attempt,
        outcome=outcome,
        status_code=answer.status_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        lag_seconds=lag,
    )
    if outcome == "retrying":
        delay = backoff(attempt, base=settings.webhook_retry_base_seconds, cap=settings.webhook_retry_max_seconds)
        send(task, countdown=delay, attempt=attempt + 1, **again)
    elif outcome == "dead":
        raise WebhookDeadLettered(f"{event_id} to {subscription_id}: {answer.error or answer.status_code}")
    return outcome


def deliver_task(
    self: KabarTask,
    subscription_id: str,
    event_id: str,
    uid: str,
    revision: int,
    attempt: int = 1,
    queued_at: float | None = None,
    occurred_at: str | None = None,
) -> str:
    """Celery task: one delivery attempt (see deliver)."""
    return deliver(
        self,
        subscription_id=subscription_id,
        event_id=event_id,
        uid=uid,
        revision=int(revision),
        attempt=int(attempt),
        queued_at=float(queued_at if queued_at is not None else time.time()),
        occurred_at=occurred_at,
    )
