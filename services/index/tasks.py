"""Binds Kabar's task functions (module-level, in indexing.tasks and related.tasks) to an app.

The retry policy depends on settings, so binding is explicit and building an app has no import-time
side effects. Each task reaches its clients through `task.app.context`, opened in whichever process runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from sqlalchemy.exc import OperationalError as DatabaseOperationalError

from services.index.comments import tasks as comments
from services.index.edge import tasks as edge
from services.index.edge.purger import EdgePurgeError
from services.index.embargo import tasks as embargo
from services.index.indexing import tasks as indexing
from services.index.notify import indexnow, webhooks, websub
from services.index.related import tasks as related
from services.index.taskbase import TRANSIENT, KabarTask
from services.wordpress import tasks as wordpress
from shared.messaging import (
    COMMENT_TASKS,
    TASK_COMMENT_CHANGED,
    TASK_COMMENT_FORGET,
    TASK_COMMENT_REPORT,
    TASK_COMMENT_SUBMIT,
    TASK_EDGE_PURGE,
    TASK_EMBARGO_RELEASE,
    TASK_INDEX_EVENTS,
    TASK_INDEXNOW_PING,
    TASK_RELATED_COMPUTE,
    TASK_RELATED_FORGET,
    TASK_RELATED_REFRESH,
    TASK_WEBHOOK_DELIVER,
    TASK_WEBSUB_DISTRIBUTE,
    TASK_WEBSUB_VERIFY,
    TASK_WORDPRESS_PULL,
)

if TYPE_CHECKING:
    from services.index.celery_app import KabarCelery

TASKS = {
    TASK_INDEX_EVENTS: indexing.apply_events,
    TASK_RELATED_FORGET: related.forget,
    TASK_RELATED_COMPUTE: related.compute,
    TASK_RELATED_REFRESH: related.refresh,
    TASK_EDGE_PURGE: edge.purge,
    TASK_WEBHOOK_DELIVER: webhooks.deliver_task,
    TASK_WEBSUB_VERIFY: websub.verify,
    TASK_WEBSUB_DISTRIBUTE: websub.distribute,
    TASK_INDEXNOW_PING: indexnow.ping,
    TASK_EMBARGO_RELEASE: embargo.release,
    TASK_COMMENT_SUBMIT: comments.submit,
    TASK_COMMENT_REPORT: comments.report,
    TASK_COMMENT_CHANGED: comments.changed,
    TASK_COMMENT_FORGET: comments.forget,
    TASK_WORDPRESS_PULL: wordpress.pull_site,
}
# An edge that is down or refuses a purge is an outage like any other: retried with backoff, and after
# max_retries the message is dead-lettered (`kabar dead-letters replay` sends it again), never dropped.
RETRIED: dict[str, tuple[type[Exception], ...]] = {TASK_EDGE_PURGE: (*TRANSIENT, httpx.HTTPError, EdgePurgeError)}
# A WebSub subscriber or publish not answering, or IndexNow asking us back (429/5xx): the same backoff.
RETRIED[TASK_WEBSUB_VERIFY] = (*TRANSIENT, httpx.TransportError)
RETRIED[TASK_WEBSUB_DISTRIBUTE] = (*TRANSIENT, httpx.HTTPError)
RETRIED[TASK_INDEXNOW_PING] = (*TRANSIENT, httpx.TransportError, indexnow.IndexNowRetry)
# PostgreSQL down, restarting or timing out a lock: comments wait for it (Kabar holds their only copy), never dropped.
RETRIED.update(dict.fromkeys(COMMENT_TASKS, (*TRANSIENT, DatabaseOperationalError)))


def register(app: KabarCelery) -> None:
    """Bind the tasks to this app with its retry policy (from settings)."""
    settings = app.kabar_settings
    for name, fun in TASKS.items():
        app.task(
            name=name,
            bind=True,
            base=KabarTask,
            autoretry_for=RETRIED.get(name, TRANSIENT),
            retry_backoff=1,
            retry_backoff_max=settings.retry_backoff_max_seconds,
            retry_jitter=True,
            max_retries=settings.max_retries,
            acks_late=True,
        )(fun)
