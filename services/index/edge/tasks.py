"""The edge purge task: after every applied change, once the change is searchable (lists included)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import structlog
from elasticsearch import Elasticsearch

from services.index.edge.purger import EdgePurger
from shared.es import PUBLISHED, IndexNames
from shared.messaging import TASK_EDGE_PURGE, Queues
from shared.purge import EdgePurge

if TYPE_CHECKING:
    from services.index.taskbase import KabarTask

log = structlog.get_logger()


def after_change(task: KabarTask, purge: EdgePurge, *, now: bool = True) -> None:
    """Purge the edge now (the article's own pages read the index in real time, so they are right at once),
    and again once search shows the change (home, section and tag lists are searches: refreshed within
    search_visibility_seconds). The second purge is a task: retried with backoff, dead-lettered at the end.
    `now=False` skips the first, for changes only searches show (a stored related list)."""
    purger = task.ctx.edge
    if purger is None or not (purge.keys or purge.tombstones):
        return
    if now:
        purger.purge_inline(purge)
    settings = task.settings
    task.app.send_task(
        TASK_EDGE_PURGE,
        kwargs={"purge": purge.model_dump(mode="json")},
        queue=Queues(settings.prefix).index,
        # Whole seconds, rounded up: RabbitMQ's delayed delivery (quorum queues) counts in seconds.
        countdown=math.ceil(settings.search_visibility_seconds),
    )


def still_gone(*, es: Elasticsearch, names: IndexNames, purge: EdgePurge) -> EdgePurge:
    """The purge without tombstones for articles published again since (a retried or late purge must not
    answer 410 for a live story)."""
    if not purge.tombstones:
        return purge
    # A real-time read: published now means a newer revision than the removal's (external versioning).
    found = es.mget(index=names.articles, ids=[t.uid for t in purge.tombstones], source_includes=["status"])
    live = {d["_id"] for d in found["docs"] if d.get("found") and d["_source"].get("status") == PUBLISHED}
    kept = [t for t in purge.tombstones if t.uid not in live]
    return purge.model_copy(update={"tombstones": kept})


def purge(self: KabarTask, purge: dict[str, Any]) -> int:
    """Purge keys and install tombstones at every edge (idempotent); transport errors are retried."""
    purger: EdgePurger | None = self.ctx.edge
    if purger is None:
        return 0
    request = still_gone(es=self.ctx.es, names=self.ctx.names, purge=EdgePurge.model_validate(purge))
    purged = purger.purge(request)
    log.info("edge.purged", keys=len(request.keys), tombstones=len(request.tombstones), objects=purged)
    return purged
