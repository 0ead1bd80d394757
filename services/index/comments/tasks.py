"""Comment tasks on the comments queue: moderate a submission, store a report, recount changed threads, forget a
deleted article's thread. Each is one PostgreSQL transaction, then the counts and caches follow.

All are idempotent: a redelivered submission or report finds itself stored, and counts are absolute and versioned
by their read time (services/index/comments/counts.py), so redoing the follow-up work is harmless. That is also
why the follow-up runs whether or not this delivery stored anything: a retry after Elasticsearch failed finishes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog
from celery.exceptions import Reject, SoftTimeLimitExceeded
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.index import metrics
from services.index.comments.counts import write_counts
from services.index.edge.tasks import after_change
from services.index.taskbase import KabarTask, timed_out
from shared.comments import store
from shared.comments.events import CommentReported, CommentsChanged, CommentSubmitted
from shared.comments.tables import SHOWN
from shared.events import ArticleEvent, Operation
from shared.messaging import TASK_COMMENT_FORGET, Queues
from shared.purge import EdgePurge, article_key, publish_purge, shows_key

log = structlog.get_logger()

Model = TypeVar("Model", bound=BaseModel)


def _parse(task: KabarTask, model: type[Model], event: dict[str, Any] | None, fields: dict[str, Any]) -> Model:
    """The contract from the task's keyword arguments: its fields (as publish and the moderation API send it), or
    the whole of it under `event`."""
    try:
        return model.model_validate(event if event is not None else fields)
    except ValidationError as exc:
        # A message no code version can read: straight to the dead-letter queue, no retries. Only the error
        # types and places are logged: the values may be a reader's text.
        errors = exc.errors(include_input=False, include_url=False)[:5]
        log.error("comment.poison_message", task_id=task.request.id, errors=errors)
        raise Reject(f"invalid {model.__name__}", requeue=False) from exc


@contextmanager
def _transaction(task: KabarTask) -> Iterator[Session]:
    """One transaction that commits on success; a time limit becomes bounded retries, then a dead letter."""
    # A lock wait or a query that hangs ends as a retried OperationalError well before the task's soft limit.
    limit = f"{max(1, int(task.settings.task_soft_time_limit_seconds * 1000 / 3))}ms"
    try:
        with Session(task.ctx.db, expire_on_commit=False) as session, session.begin():
            session.execute(
                select(func.set_config("lock_timeout", limit, True), func.set_config("statement_timeout", limit, True))
            )
            yield session
    except SoftTimeLimitExceeded as exc:
        raise timed_out(task, exc) from exc


def refresh_threads(task: KabarTask, uids: Iterable[str], *, purge: bool = True) -> None:
    """Recount these articles' shown comments into Elasticsearch and purge their cached pages (publish's page
    cache, then the edge: the article page now, lists that show the count once the count is searchable)."""
    wanted = list(dict.fromkeys(uids))
    if not wanted:
        return
    c = task.ctx
    try:
        with Session(c.db) as session:
            counts = store.shown_counts(session, wanted)
        write_counts(es=c.es, names=c.names, counts=counts)
    except SoftTimeLimitExceeded as exc:
        raise timed_out(task, exc) from exc
    if purge:
        publish_purge(c.redis, task.settings.prefix, wanted)
        after_change(task, EdgePurge(keys=[key for uid in wanted for key in (article_key(uid), shows_key(uid))]))


def submit(self: KabarTask, event: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """Moderate and store one submission (CommentSubmitted); a shown one updates the count and the pages."""
    submission = _parse(self, CommentSubmitted, event, fields)
    structlog.contextvars.bind_contextvars(article_id=submission.article_uid, submission_id=submission.submission_id)
    with _transaction(self) as session:
        comment, decision, created = store.apply_submission(session, self.settings, submission)
    if created:
        metrics.COMMENT_DECISIONS.labels(decision.rule, decision.status.value).inc()
        log.info("comment.moderated", comment_id=comment.id, status=comment.status, rule=decision.rule)
    if comment.status in SHOWN:
        refresh_threads(self, [submission.article_uid])
    return {"comment_id": comment.id, "status": comment.status, "rule": decision.rule, "created": created}


def report(self: KabarTask, event: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """Store one reader's report (CommentReported); the report that withholds a comment updates the thread."""
    reported = _parse(self, CommentReported, event, fields)
    structlog.contextvars.bind_contextvars(comment_id=reported.comment_id)
    with _transaction(self) as session:
        outcome = store.apply_report(session, reported)
    if outcome.stored:
        metrics.COMMENT_REPORTS.inc()
    if outcome.withheld_in is not None:
        log.info("comment.withheld", rule="reports", article_id=outcome.withheld_in)
        refresh_threads(self, [outcome.withheld_in])
    return {"stored": outcome.stored, "withheld": outcome.withheld_in is not None}


def changed(self: KabarTask, event: dict[str, Any] | None = None, **fields: Any) -> int:
    """Recount and purge threads whose shown comments may have changed (CommentsChanged, from moderation)."""
    threads = _parse(self, CommentsChanged, event, fields)
    refresh_threads(self, threads.article_uids)
    log.info("comment.threads_refreshed", threads=len(threads.article_uids))
    return len(threads.article_uids)


def forget(self: KabarTask, uid: str, newsroom: str | None = None) -> int:
    """Delete a deleted article's thread and its count (idempotent)."""
    structlog.contextvars.bind_contextvars(article_id=uid)
    with _transaction(self) as session:
        deleted = store.forget_thread(session, newsroom=newsroom, uid=uid)
    # The deletion itself purged every page of the article and every list showing it.
    refresh_threads(self, [uid], purge=False)
    log.info("comment.thread_deleted", comments=deleted)
    return deleted


def forget_deleted(task: KabarTask, events: list[ArticleEvent], removed: Iterable[str]) -> None:
    """After the index applied removals: send the thread deletion of each article that was deleted (not withdrawn:
    a withdrawn article keeps its thread, hidden with it, for when it comes back)."""
    last = {event.uid: event for event in events}  # a batch's last event for an article is the one that stands
    for uid in removed:
        event = last.get(uid)
        if event is not None and event.op == Operation.DELETE:
            task.app.send_task(
                TASK_COMMENT_FORGET,
                kwargs={"uid": uid, "newsroom": event.newsroom},
                queue=Queues(task.settings.prefix).comments,
            )
