"""The worker's Celery app: queues, routes, JSON only, acks_late, prefetch 1, dead-lettering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_prerun, worker_process_init, worker_process_shutdown
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch
from redis import Redis
from sqlalchemy import Engine

from services.index import metrics
from services.index.config import IndexSettings
from services.index.edge.purger import EdgePurger
from shared.db import make_engine, migrate, one_off_engine
from shared.es import IndexLayout, IndexNames, create_client, ensure_indices
from shared.logging import configure_logging
from shared.messaging import celery_config, declare_topology
from shared.redisconn import redis_client
from shared.state import StateStore


class TimeLimitAwareNode(Urllib3HttpNode):
    """A Celery soft time limit that fires inside an Elasticsearch request stays a time limit.

    The HTTP node wraps any exception raised mid-request into a ConnectionError, which the transport then
    retries and the task treats as an outage: a batch that ran out of time would be retried whole, for ever
    slower, instead of being split or dead-lettered. Re-raised as itself, it is not a TransportError, so
    the transport neither retries it nor marks the node dead.
    """

    def perform_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().perform_request(*args, **kwargs)
        except ESConnectionError as exc:
            timed_out = next((e for e in exc.errors if isinstance(e, SoftTimeLimitExceeded)), None)
            if timed_out is None and isinstance(exc.__cause__, SoftTimeLimitExceeded):
                timed_out = exc.__cause__
            if timed_out is not None:
                raise timed_out from None
            raise


@dataclass
class WorkerContext:
    """Clients of one worker process, created after fork and closed at shutdown."""

    settings: IndexSettings
    es: Elasticsearch
    redis: Redis
    store: StateStore
    names: IndexNames
    # None when no edge is configured (KABAR_EDGE_URLS empty).
    edge: EdgePurger | None = None
    _db: Engine | None = field(default=None, repr=False)

    @property
    def db(self) -> Engine:
        """PostgreSQL (comments), connected on first use: only comment tasks need it. One connection, since a
        worker process runs one task at a time."""
        if self._db is None:
            self._db = make_engine(self.settings, pool_size=1)
        return self._db

    @classmethod
    def open(cls, settings: IndexSettings) -> WorkerContext:
        redis = redis_client(settings, socket_timeout=10)
        return cls(
            settings=settings,
            es=create_client(settings, node_class=TimeLimitAwareNode),
            redis=redis,
            store=StateStore(redis, settings.prefix),
            names=IndexNames(settings.prefix),
            edge=EdgePurger(settings.edge_urls, timeout=settings.edge_timeout_seconds) if settings.edge_urls else None,
        )

    def close(self) -> None:
        self.es.close()
        self.redis.close()
        if self.edge is not None:
            self.edge.close()
        if self._db is not None:
            self._db.dispose()


class KabarCelery(Celery):
    """Celery with a per-process WorkerContext, opened lazily in whichever process runs tasks."""

    kabar_settings: IndexSettings
    _context: WorkerContext | None = None

    @property
    def context(self) -> WorkerContext:
        if self._context is None:
            self._context = WorkerContext.open(self.kabar_settings)
        return self._context

    def close_context(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None


def create_celery(settings: IndexSettings | None = None) -> KabarCelery:
    """Build the worker app; nothing connects until a worker starts."""
    settings = settings or IndexSettings()
    app = KabarCelery("kabar-index", set_as_current=False)
    app.kabar_settings = settings
    conf: dict[str, Any] = celery_config(broker_url=settings.broker_url, prefix=settings.prefix)
    conf.update(
        task_acks_late=True,
        # A message whose task failed for good is rejected without requeue, so RabbitMQ dead-letters it.
        task_acks_on_failure_or_timeout=False,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit_seconds,
        task_time_limit=settings.task_time_limit_seconds,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=False,
        broker_connection_max_retries=None,
    )
    app.conf.update(conf)

    from services.index import tasks
    from services.index.dead_notices import DeadLetterNotices
    from services.index.embargo.poller import EmbargoReleases
    from services.wordpress import tasks as wordpress_tasks
    from services.wordpress.config import WordPressSettings

    tasks.register(app)
    # `celery beat` (compose's beat service) sends the periodic WordPress pulls, one entry per configured site.
    app.conf.beat_schedule = wordpress_tasks.beat_schedule(WordPressSettings())
    app.steps["consumer"].add(DeadLetterNotices)
    # Index-queue workers poll the embargo schedule and send the releases that are due.
    app.steps["worker"].add(EmbargoReleases)
    metrics.install(settings, settings.worker_metrics_port, addr=settings.worker_metrics_addr)

    @worker_process_init.connect(weak=False)
    def _open(**_: Any) -> None:
        configure_logging(level=settings.log_level, json=settings.log_json)
        app.close_context()  # never reuse a client inherited through fork

    @task_prerun.connect(weak=False)
    def _bind_log_context(task_id: str, kwargs: dict[str, Any] | None = None, args: Any = None, **_: Any) -> None:
        # Every log line of a task carries its task id, the ingest request id and the article id(s).
        events = (kwargs or {}).get("events") or []
        uids = [e.get("uid") for e in events if isinstance(e, dict)] or list(args or [])[:1]
        request_id = next((e["request_id"] for e in events if isinstance(e, dict) and e.get("request_id")), None)
        context = {
            "task_id": task_id,
            "request_id": request_id,
            "article_id": uids[0] if len(uids) == 1 else None,
            "article_count": len(uids) if len(uids) > 1 else None,
        }
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**{k: v for k, v in context.items() if v is not None})

    @worker_process_shutdown.connect(weak=False)
    def _close(**_: Any) -> None:
        app.close_context()

    return app


def bootstrap(settings: IndexSettings) -> None:
    """Safe on every deploy: index template, first index behind the alias, queues and dead-letter queue, and the
    prefix's PostgreSQL schema at the newest migration."""
    es = create_client(settings)
    try:
        ensure_indices(es, IndexNames(settings.prefix), IndexLayout.from_settings(settings))
    finally:
        es.close()
    with one_off_engine(settings) as engine:
        migrate(engine, settings.prefix)
    app = Celery(set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=settings.prefix))
    with app.connection_for_write() as conn:
        declare_topology(conn, settings.prefix)
