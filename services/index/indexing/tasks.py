"""The indexing task: parse the versioned payload, apply the batch, hand related work on."""

from __future__ import annotations

from typing import Any

import structlog
from celery.exceptions import Reject, SoftTimeLimitExceeded
from elasticsearch import ApiError
from pydantic import ValidationError

from services.index.comments.tasks import forget_deleted
from services.index.edge.purger import change_purge
from services.index.edge.tasks import after_change
from services.index.embargo.schedule import EmbargoSchedule, releases_for
from services.index.indexing import history, indexer
from services.index.notify.dispatch import after_changes
from services.index.related.tasks import schedule_related
from services.index.taskbase import KabarTask, PoisonEventError, TransientIndexError, timed_out
from shared.events import ArticleEvent
from shared.messaging import TASK_INDEX_EVENTS, TASK_RELATED_FORGET, Queues
from shared.purge import publish_purge

log = structlog.get_logger()


def _is_transient_api_error(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and (exc.meta.status >= 500 or exc.meta.status == 429)


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
            raise TransientIndexError(str(exc)) from exc
        raise
    except SoftTimeLimitExceeded as exc:
        if len(events) > 1:
            log.warning("task.batch_timed_out", task_id=self.request.id, events=len(events))
            _isolate(self, events, related=related)
            return {"isolated": len(events)}
        raise timed_out(self, exc) from exc
    if result.failed:
        if len(events) == 1:
            raise PoisonEventError(next(iter(result.failed.values())))
        # The rest of the batch is applied; each refused event goes on alone to its own dead letter.
        _isolate(self, [e for e in events if e.get("uid") in result.failed], related=related)
    # Embargoed upserts wait in the release schedule; a visible upsert or a takedown cancels a pending release.
    # First after the write, so the schedule trails the state the newsroom reads by as little as possible.
    scheduled, cancelled = releases_for(
        parsed, embargoed=result.embargoed, stale=result.stale, upserted=result.upserted, removed=result.removed
    )
    EmbargoSchedule(c.redis, self.settings.prefix).sync(scheduled=scheduled, cancelled=cancelled)
    # The newsroom's revision history: each revision Elasticsearch now holds, recorded once.
    history.record_applied(
        redis=c.redis, es=c.es, names=c.names, prefix=self.settings.prefix, events=parsed, result=result
    )
    if result.upserted or result.removed:
        # Cached pages go first: publish's page cache (a notice), then the edge (now, and once searchable).
        publish_purge(c.redis, self.settings.prefix, [*result.upserted, *result.removed])
        after_change(self, change_purge(upserted=result.documents, removed=result.previous))
        after_changes(self, result.changes)
    if result.removed:
        # Cutting the story from other articles' lists is related work.
        for uid in result.removed:
            self.app.send_task(TASK_RELATED_FORGET, args=[uid], queue=Queues(self.settings.prefix).related)
        # A deleted article's comments go with it (a withdrawn one keeps them, hidden).
        forget_deleted(self, parsed, result.removed)
    if related:
        # An embargoed story joins other stories' lists (and gets its own) when it is released.
        for uid in result.upserted:
            if uid not in result.embargoed:
                schedule_related(self, uid, refresh=False)
    return {
        "upserted": len(result.upserted),
        "removed": len(result.removed),
        "stale": len(result.stale),
        "failed": len(result.failed),
        "applied": result.upserted + result.removed,
    }
