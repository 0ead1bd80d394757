"""Thin task bodies: parse the versioned payload, call the indexer or related module, schedule follow-ups.

Plain module-level functions; `register()` binds them to an app with that app's retry policy (the policy
depends on settings, so binding is explicit and building an app has no import-time side effects). Each
task reaches its clients through `task.app.context`, opened in whichever process runs it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import structlog
from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError
from kombu.exceptions import OperationalError
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from services.index import indexer
from services.index import related as related_mod
from shared.events import ArticleEvent
from shared.messaging import (
    TASK_INDEX_EVENTS,
    TASK_RELATED_COMPUTE,
    TASK_RELATED_FORGET,
    TASK_RELATED_REFRESH,
    Queues,
)
from shared.purge import publish_purge

if TYPE_CHECKING:
    from services.index.celery_app import KabarCelery, WorkerContext
    from services.index.config import IndexSettings

log = structlog.get_logger()

TRANSIENT = (ESConnectionError, ConnectionTimeout, indexer.TransientIndexError, RedisConnectionError, OperationalError)


class PoisonEventError(Exception):
    """One event that can never be applied (Elasticsearch refused it, or it ran out of time): dead-letter it."""


class KabarTask(Task):
    """Every Kabar task: clients from the app's per-process context; a final failure marks its articles."""

    @property
    def kabar_app(self) -> KabarCelery:
        return cast("KabarCelery", self.app)

    @property
    def ctx(self) -> WorkerContext:
        return self.kabar_app.context

    @property
    def settings(self) -> IndexSettings:
        return self.kabar_app.kabar_settings

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.error("task.failed", task=self.name, task_id=task_id, error=reason[:300])
        for raw in (kwargs or {}).get("events", []):
            try:
                # Never marks a revision that Elasticsearch applied (see StateStore.mark_failed).
                self.ctx.store.mark_failed(raw["uid"], int(raw["revision"]), reason)
            except Exception:  # state is best effort; the message itself is dead-lettered
                log.warning("task.mark_failed_failed", task_id=task_id)


def _is_transient_api_error(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and (exc.meta.status >= 500 or exc.meta.status == 429)


def _timed_out(task: KabarTask, exc: SoftTimeLimitExceeded) -> Exception:
    """A bounded number of retries for a message that ran out of time, then its dead letter with the reason."""
    settings = task.settings
    if task.request.retries < settings.timeout_retries:
        return task.retry(exc=exc, countdown=settings.retry_backoff_max_seconds // 4 or 1, throw=False)
    return PoisonEventError(f"timed out after {settings.task_soft_time_limit_seconds:g} s")


def _schedule_related(task: KabarTask, uid: str, *, refresh: bool) -> None:
    """Debounced: one pending computation per article at a time."""
    settings = task.settings
    # Never before the index refresh made this article and its batch-mates searchable to each other.
    # Whole seconds, rounded up: RabbitMQ's delayed delivery (quorum queues) counts in seconds.
    delay = math.ceil(
        max(
            settings.related_refresh_debounce_seconds if refresh else settings.related_countdown_seconds,
            settings.search_visibility_seconds,
        )
    )
    key = f"{settings.prefix}:related:pending:{uid}"
    if task.ctx.redis.set(key, "1", nx=True, ex=max(int(delay) + 30, 30)):
        task.app.send_task(
            TASK_RELATED_REFRESH if refresh else TASK_RELATED_COMPUTE,
            args=[uid],
            queue=Queues(settings.prefix).related,
            countdown=delay,
        )


def _isolate(task: KabarTask, events: list[dict[str, Any]], *, related: bool) -> None:
    """Send each event of a batch as its own message, so one poison event cannot hold the rest back."""
    for event in events:
        task.app.send_task(
            TASK_INDEX_EVENTS,
            kwargs={"events": [event], "related": related},
            queue=Queues(task.settings.prefix).index,
            headers={"article_ids": str(event.get("uid"))},
        )


def apply_events(self: KabarTask, events: list[dict[str, Any]], related: bool = True) -> dict[str, Any]:
    """Write a batch of article events; related work follows on the related queue."""
    # related=False is for backfills: related lists are computed afterwards in one pass
    # (`kabar related rebuild`), not one task per article while the bulk load runs.
    try:
        parsed = [ArticleEvent.model_validate(e) for e in events]
    except ValidationError as exc:
        # A message no code version can read: straight to the dead-letter queue, no retries.
        log.error("task.poison_message", task_id=self.request.id, error=str(exc)[:500])
        raise Reject(str(exc)[:200], requeue=False) from exc
    c = self.ctx
    try:
        result = indexer.apply_events(es=c.es, store=c.store, names=c.names, events=parsed)
    except ApiError as exc:
        if _is_transient_api_error(exc):
            raise indexer.TransientIndexError(str(exc)) from exc
        raise
    except SoftTimeLimitExceeded as exc:
        if len(events) > 1:
            log.warning("task.batch_timed_out", task_id=self.request.id, events=len(events))
            _isolate(self, events, related=related)
            return {"isolated": len(events)}
        raise _timed_out(self, exc) from exc
    if result.failed:
        if len(events) == 1:
            raise PoisonEventError(next(iter(result.failed.values())))
        # The rest of the batch is applied; each refused event goes on alone to its own dead letter.
        _isolate(self, [e for e in events if e.get("uid") in result.failed], related=related)
    if result.removed:
        # Pages cached by publish go first; cutting the story from other articles' lists is related work.
        publish_purge(c.redis, self.settings.prefix, result.removed)
        for uid in result.removed:
            self.app.send_task(TASK_RELATED_FORGET, args=[uid], queue=Queues(self.settings.prefix).related)
    if related:
        for uid in result.upserted:
            _schedule_related(self, uid, refresh=False)
    return {
        "upserted": len(result.upserted),
        "removed": len(result.removed),
        "stale": len(result.stale),
        "failed": len(result.failed),
        "applied": result.upserted + result.removed,
    }


def forget(self: KabarTask, uid: str) -> int:
    """Cut a withdrawn or deleted story from every list (idempotent); then refill those lists."""
    owners = related_mod.forget(es=self.ctx.es, names=self.ctx.names, uid=uid)
    for other in owners:
        _schedule_related(self, other, refresh=True)
    return len(owners)


def _recompute(task: KabarTask, uid: str) -> dict[str, Any] | None:
    c = task.ctx
    c.redis.delete(f"{task.settings.prefix}:related:pending:{uid}")
    try:
        return related_mod.compute_related(es=c.es, names=c.names, uid=uid, k=task.settings.related_k)
    except SoftTimeLimitExceeded as exc:
        raise _timed_out(task, exc) from exc


def compute(self: KabarTask, uid: str) -> int:
    """A new article's list; then the older stories it is closest to get it in theirs (freshness both ways)."""
    doc = _recompute(self, uid)
    if not doc:
        return 0
    computed = [i for i in doc["items"] if i.get("kind") == "computed"][: self.settings.related_fanout]
    for item in computed:
        _schedule_related(self, item["uid"], refresh=True)
    return len(doc["items"])


def refresh(self: KabarTask, uid: str) -> int:
    """Recompute one article's list (debounced by _schedule_related)."""
    doc = _recompute(self, uid)
    return len(doc["items"]) if doc else 0


TASKS = {
    TASK_INDEX_EVENTS: apply_events,
    TASK_RELATED_FORGET: forget,
    TASK_RELATED_COMPUTE: compute,
    TASK_RELATED_REFRESH: refresh,
}


def register(app: KabarCelery) -> None:
    """Bind the tasks to this app with its retry policy (from settings)."""
    settings = app.kabar_settings
    for name, fun in TASKS.items():
        app.task(
            name=name,
            bind=True,
            base=KabarTask,
            autoretry_for=TRANSIENT,
            retry_backoff=1,
            retry_backoff_max=settings.retry_backoff_max_seconds,
            retry_jitter=True,
            max_retries=settings.max_retries,
            acks_late=True,
        )(fun)
