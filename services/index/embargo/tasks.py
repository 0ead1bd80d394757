"""The release task: when an embargo lifts, make caches, related lists and subscribers follow the index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from services.index.edge.purger import change_purge
from services.index.edge.tasks import after_change
from services.index.embargo.schedule import EmbargoSchedule
from services.index.notify.dispatch import after_changes
from services.index.related.tasks import schedule_related
from services.index.taskbase import KabarTask
from shared.es import PUBLISHED, is_visible
from shared.events import ArticleChange, ArticleEvent, ChangeKind, Operation
from shared.purge import publish_purge

log = structlog.get_logger()

# What a release needs of the article: its visibility, what its purge names, and what subscribers are told.
_FIELDS = [
    "uid",
    "newsroom",
    "external_id",
    "revision",
    "version",
    "status",
    "embargo_until",
    "path",
    "title",
    "section_slug",
    "tags",
    "authors",
]


def release(self: KabarTask, uid: str) -> str:
    """Idempotent, and safe at any time: it acts only on what the index holds now (real-time GET)."""
    c = self.ctx
    got = c.es.options(ignore_status=404).get(index=c.names.articles, id=uid, source_includes=_FIELDS)
    doc: dict[str, Any] | None = got["_source"] if got.get("found") else None
    if doc is None or doc.get("status") != PUBLISHED:
        # Withdrawn or deleted before its time (the takedown cancelled the entry; this one was already sent).
        log.info("embargo.release_skipped", article_id=uid, reason="not published")
        return "skipped"
    if not is_visible(doc, datetime.now(UTC)):
        # Moved later by an update (its own entry fires then), or this clock is behind the poller's: make
        # sure an entry exists for the time the index holds, so the release is never lost.
        EmbargoSchedule(c.redis, self.settings.prefix).sync(
            scheduled={uid: datetime.fromisoformat(doc["embargo_until"])}, cancelled=()
        )
        log.info("embargo.release_not_yet", article_id=uid, embargo_until=doc["embargo_until"])
        return "not_yet"
    # As for a new story: cached pages first (publish's page cache, then the edge, now and once searchable),
    # then its own related list and the older stories' lists that should show it, then subscribers.
    publish_purge(c.redis, self.settings.prefix, [uid])
    after_change(self, change_purge(upserted={uid: doc}, removed={}))
    schedule_related(self, uid, refresh=False)
    event = ArticleEvent(
        op=Operation.UPSERT,
        uid=uid,
        newsroom=doc["newsroom"],
        external_id=doc["external_id"],
        revision=int(doc["revision"]),
        version=int(doc.get("version") or 1),
    )
    after_changes(self, [ArticleChange.of(event, ChangeKind.PUBLISHED, doc)])
    log.info("embargo.release_done", article_id=uid, revision=doc["revision"])
    return "released"
