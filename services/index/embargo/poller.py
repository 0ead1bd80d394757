"""The release poller: a thread in every worker that consumes the index queue, sending due releases.

Several pollers (one per worker, any number of hosts) share one schedule: a claim moves due entries out
of the others' way, so each release is normally sent once, and at least once whatever crashes.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from celery import bootsteps
from redis import Redis

from services.index.embargo.schedule import EmbargoSchedule
from shared.messaging import TASK_EMBARGO_RELEASE, Queues
from shared.redisconn import redis_client

if TYPE_CHECKING:
    from services.index.celery_app import KabarCelery
    from services.index.config import IndexSettings

log = structlog.get_logger()


class ReleasePoller:
    """Every poll interval: claim due entries, send one release task each, then forget the sent ones."""

    def __init__(self, app: KabarCelery, settings: IndexSettings) -> None:
        self.app = app
        self.settings = settings
        self.queue = Queues(settings.prefix).index
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._redis: Redis | None = None

    def start(self) -> None:
        self._redis = redis_client(self.settings, socket_timeout=5)
        self._thread = threading.Thread(target=self._run, name="kabar-embargo-poller", daemon=True)
        self._thread.start()
        log.info("embargo.poller_started", interval=self.settings.embargo_poll_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._redis is not None:
            self._redis.close()

    def _run(self) -> None:
        assert self._redis is not None
        schedule = EmbargoSchedule(self._redis, self.settings.prefix)
        failures = 0
        while not self._stop.is_set():
            try:
                sent = self.poll_once(schedule)
                failures = 0
            except Exception as exc:  # Redis or the broker away: the entries wait in Redis, nothing is lost
                failures += 1
                log.warning("embargo.poll_failed", error=type(exc).__name__, detail=str(exc)[:300])
                sent = 0
            if sent >= self.settings.embargo_batch:
                continue  # more are due: no pause
            pause = self.settings.embargo_poll_seconds * (min(2**failures, 60) if failures else 1)
            self._stop.wait(pause * random.uniform(0.9, 1.1))

    def poll_once(self, schedule: EmbargoSchedule) -> int:
        """Send the releases due now; returns how many were sent."""
        uids, claim = schedule.claim(
            now=time.time(), lease=self.settings.embargo_claim_seconds, limit=self.settings.embargo_batch
        )
        if not uids:
            return 0
        sent: list[str] = []
        try:
            with self.app.producer_or_acquire() as producer:
                for uid in uids:
                    # Publisher confirms are on: returning means RabbitMQ has the message.
                    self.app.send_task(TASK_EMBARGO_RELEASE, args=[uid], queue=self.queue, producer=producer)
                    sent.append(uid)
        finally:
            # Only what was sent is forgotten; the rest re-fire when the claim's lease runs out.
            schedule.forget_claimed(sent, claim)
        log.info("embargo.released", article_ids=sent[:20], count=len(sent))
        return len(sent)


class EmbargoReleases(bootsteps.StartStopStep):
    """Runs a ReleasePoller in the worker's main process when the worker consumes the index queue."""

    requires: ClassVar[set[str]] = {"celery.worker.components:Pool"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.poller: ReleasePoller | None = None

    def start(self, parent: Any) -> None:
        app: KabarCelery = parent.app
        settings = app.kabar_settings
        consumed = app.amqp.queues.consume_from or app.amqp.queues
        if Queues(settings.prefix).index not in consumed or settings.embargo_poll_seconds <= 0:
            return
        self.poller = ReleasePoller(app, settings)
        self.poller.start()

    def stop(self, parent: Any) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)
