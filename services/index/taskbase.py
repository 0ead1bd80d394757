"""What every Kabar task shares: its base class (clients from the app's per-process context, failures
marked in state), the errors it retries, and bounded retries for time limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import structlog
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

if TYPE_CHECKING:
    from services.index.celery_app import KabarCelery, WorkerContext
    from services.index.config import IndexSettings

log = structlog.get_logger()


class TransientIndexError(Exception):
    """Elasticsearch could not take a write now; the task is retried with backoff."""


TRANSIENT = (ESConnectionError, ConnectionTimeout, TransientIndexError, RedisConnectionError, OperationalError)


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


def timed_out(task: KabarTask, exc: SoftTimeLimitExceeded) -> Exception:
    """A bounded number of retries for a message that ran out of time, then its dead letter with the reason."""
    settings = task.settings
    if task.request.retries < settings.timeout_retries:
        return task.retry(exc=exc, countdown=settings.retry_backoff_max_seconds // 4 or 1, throw=False)
    return PoisonEventError(f"timed out after {settings.task_soft_time_limit_seconds:g} s")
