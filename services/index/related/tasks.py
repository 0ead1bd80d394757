"""Related-list tasks: compute a new article's list, refresh older ones, forget a story that came down."""

from __future__ import annotations

import math
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from services.index.edge.tasks import after_change
from services.index.related import lists, ranker
from services.index.taskbase import KabarTask, timed_out
from shared.messaging import TASK_RELATED_COMPUTE, TASK_RELATED_REFRESH, Queues
from shared.purge import EdgePurge, article_key


def schedule_related(task: KabarTask, uid: str, *, refresh: bool) -> None:
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


def forget(self: KabarTask, uid: str) -> int:
    """Cut a withdrawn or deleted story from every list (idempotent); then refill those lists."""
    owners = lists.forget(es=self.ctx.es, names=self.ctx.names, uid=uid)
    for other in owners:
        schedule_related(self, other, refresh=True)
    return len(owners)


def _recompute(task: KabarTask, uid: str) -> dict[str, Any] | None:
    c = task.ctx
    c.redis.delete(f"{task.settings.prefix}:related:pending:{uid}")
    try:
        doc = lists.compute_related(
            es=c.es,
            names=c.names,
            uid=uid,
            k=task.settings.related_k,
            ranker=ranker.shared(task.settings.related_model),
            redis=c.redis,
        )
    except SoftTimeLimitExceeded as exc:
        raise timed_out(task, exc) from exc
    if doc:
        # The article's page shows its list, read by a search: the edge drops the page once that sees it.
        after_change(task, EdgePurge(keys=[article_key(uid)]), now=False)
    return doc


def compute(self: KabarTask, uid: str) -> int:
    """A new article's list; then the older stories it is closest to get it in theirs (freshness both ways),
    and articles whose editors linked it before it arrived resolve that link (archives arrive in any order)."""
    doc = _recompute(self, uid)
    if not doc:
        return 0
    computed = [i for i in doc["items"] if i.get("kind") == "computed"][: self.settings.related_fanout]
    article = self.ctx.es.get(index=self.ctx.names.articles, id=uid, source_includes=_WAITING_FIELDS)["_source"]
    waiting = lists.waiting_for(es=self.ctx.es, names=self.ctx.names, article=article)
    for other in dict.fromkeys([*(i["uid"] for i in computed), *waiting]):
        schedule_related(self, other, refresh=True)
    return len(doc["items"])


_WAITING_FIELDS = ["uid", "newsroom", "title", "canonical_url", "path"]


def refresh(self: KabarTask, uid: str) -> int:
    """Recompute one article's list (debounced by schedule_related)."""
    doc = _recompute(self, uid)
    return len(doc["items"]) if doc else 0
