"""Thin task bodies: parse the versioned payload, call the indexer or related module, schedule follow-ups."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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
from shared.messaging import TASK_INDEX_EVENTS, TASK_RELATED_COMPUTE, TASK_RELATED_REFRESH, Queues
from shared.purge import publish_purge

if TYPE_CHECKING:
    from services.index.celery_app import KabarCelery, WorkerContext

log = structlog.get_logger()

TRANSIENT = (ESConnectionError, ConnectionTimeout, indexer.TransientIndexError, RedisConnectionError, OperationalError)


class PoisonEventError(Exception):
    """One event that can never be applied (Elasticsearch refused it, or it ran out of time): dead-letter it."""


def _is_transient_api_error(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and (exc.meta.status >= 500 or exc.meta.status == 429)


def register(app: KabarCelery) -> None:
    """Define Kabar's tasks on this app (explicit, so building an app has no import-time side effects)."""
    settings = app.kabar_settings
    queues = Queues(settings.prefix)
    retry_policy: dict[str, Any] = {
        "autoretry_for": TRANSIENT,
        "retry_backoff": 1,
        "retry_backoff_max": settings.retry_backoff_max_seconds,
        "retry_jitter": True,
        "max_retries": settings.max_retries,
        "acks_late": True,
    }

    def ctx() -> WorkerContext:
        return app.context

    def schedule_related(uid: str, *, refresh: bool) -> None:
        """Debounced: one pending computation per article at a time."""
        c = ctx()
        # Never before the index refresh made this article and its batch-mates searchable to each other.
        # Whole seconds, rounded up: RabbitMQ's delayed delivery (quorum queues) counts in seconds.
        delay = math.ceil(
            max(
                settings.related_refresh_debounce_seconds if refresh else settings.related_countdown_seconds,
                settings.search_visibility_seconds,
            )
        )
        key = f"{settings.prefix}:related:pending:{uid}"
        if c.redis.set(key, "1", nx=True, ex=max(int(delay) + 30, 30)):
            app.send_task(
                TASK_RELATED_REFRESH if refresh else TASK_RELATED_COMPUTE,
                args=[uid],
                queue=queues.related,
                countdown=delay,
            )

    class KabarTask(Task):
        def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.error("task.failed", task=self.name, task_id=task_id, error=reason[:300])
            for raw in (kwargs or {}).get("events", []):
                try:
                    # Never marks a revision that Elasticsearch applied (see StateStore.mark_failed).
                    ctx().store.mark_failed(raw["uid"], int(raw["revision"]), reason)
                except Exception:  # state is best effort; the message itself is dead-lettered
                    log.warning("task.mark_failed_failed", task_id=task_id)

    def timed_out(self: Task, exc: SoftTimeLimitExceeded) -> Exception:
        """A bounded number of retries for a message that ran out of time, then its dead letter with the reason."""
        if self.request.retries < settings.timeout_retries:
            return self.retry(exc=exc, countdown=settings.retry_backoff_max_seconds // 4 or 1, throw=False)
        return PoisonEventError(f"timed out after {settings.task_soft_time_limit_seconds:g} s")

    def isolate(events: list[dict[str, Any]], *, related: bool) -> None:
        """Send each event of a batch as its own message, so one poison event cannot hold the rest back."""
        for event in events:
            app.send_task(
                TASK_INDEX_EVENTS,
                kwargs={"events": [event], "related": related},
                queue=queues.index,
                headers={"article_ids": str(event.get("uid"))},
            )

    @app.task(name=TASK_INDEX_EVENTS, bind=True, base=KabarTask, **retry_policy)
    def apply_events(self: Task, events: list[dict[str, Any]], related: bool = True) -> dict[str, Any]:
        # related=False is for backfills: related lists are computed afterwards in one pass
        # (`kabar related rebuild`), not one task per article while the bulk load runs.
        try:
            parsed = [ArticleEvent.model_validate(e) for e in events]
        except ValidationError as exc:
            # A message no code version can read: straight to the dead-letter queue, no retries.
            log.error("task.poison_message", task_id=self.request.id, error=str(exc)[:500])
            raise Reject(str(exc)[:200], requeue=False) from exc
        c = ctx()
        try:
            result = indexer.apply_events(es=c.es, store=c.store, names=c.names, events=parsed)
        except ApiError as exc:
            if _is_transient_api_error(exc):
                raise indexer.TransientIndexError(str(exc)) from exc
            raise
        except SoftTimeLimitExceeded as exc:
            if len(events) > 1:
                log.warning("task.batch_timed_out", task_id=self.request.id, events=len(events))
                isolate(events, related=related)
                return {"isolated": len(events)}
            raise timed_out(self, exc) from exc
        if result.failed:
            if len(events) == 1:
                raise PoisonEventError(next(iter(result.failed.values())))
            # The rest of the batch is applied; each refused event goes on alone to its own dead letter.
            isolate([e for e in events if e.get("uid") in result.failed], related=related)
        if result.removed:
            # Pages cached by publish go first, then every related list that shows the story.
            publish_purge(c.redis, settings.prefix, result.removed)
        if related:
            for uid in result.upserted:
                schedule_related(uid, refresh=False)
        for uid in result.removed:
            # Readers must stop seeing a withdrawn story at once; the refresh then refills the lists.
            for other in related_mod.forget(es=c.es, names=c.names, uid=uid):
                schedule_related(other, refresh=True)
        return {
            "upserted": len(result.upserted),
            "removed": len(result.removed),
            "stale": len(result.stale),
            "failed": len(result.failed),
            "applied": result.upserted + result.removed,
        }

    def recompute(self: Task, uid: str) -> dict[str, Any] | None:
        c = ctx()
        c.redis.delete(f"{settings.prefix}:related:pending:{uid}")
        try:
            return related_mod.compute_related(es=c.es, names=c.names, uid=uid, k=settings.related_k)
        except SoftTimeLimitExceeded as exc:
            raise timed_out(self, exc) from exc

    @app.task(name=TASK_RELATED_COMPUTE, bind=True, base=KabarTask, **retry_policy)
    def compute(self: Task, uid: str) -> int:
        doc = recompute(self, uid)
        if not doc:
            return 0
        # Freshness both ways: the older stories this one is closest to get it in their lists too.
        computed = [i for i in doc["items"] if i.get("kind") == "computed"][: settings.related_fanout]
        for item in computed:
            schedule_related(item["uid"], refresh=True)
        return len(doc["items"])

    @app.task(name=TASK_RELATED_REFRESH, bind=True, base=KabarTask, **retry_policy)
    def refresh(self: Task, uid: str) -> int:
        doc = recompute(self, uid)
        return len(doc["items"]) if doc else 0
