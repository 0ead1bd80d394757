"""Worker metrics for Prometheus: task durations and failures, ingest→searchable lag, queue depth, comment decisions.

Celery's prefork children each record into prometheus_client's multiprocess directory; the worker's
main process serves the aggregate (plus queue depths read at scrape time) on KABAR_WORKER_METRICS_PORT.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import structlog
from celery.signals import task_failure, task_postrun, task_prerun, worker_ready
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from shared.messaging import TASK_INDEX_EVENTS, queue_depths
from shared.settings import KabarSettings

log = structlog.get_logger()

TASK_DURATION = Histogram(
    "kabar_task_duration_seconds",
    "Celery task run time",
    ["task", "state"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_FAILURES = Counter("kabar_task_failures_total", "Celery task failures", ["task", "exception"])
ITEM_REJECTIONS = Counter(
    "kabar_index_item_rejections_total",
    "Events Elasticsearch refused inside a bulk write (each then goes to the dead-letter queue alone)",
    ["status"],
)
SEARCHABLE_LAG = Histogram(
    "kabar_ingest_to_indexed_seconds",
    "From ingest's broker confirm to the article written in Elasticsearch",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10, 30, 60, 300),
)

# Reader comments: each submission's decision once (a redelivery is not counted again), and readers' reports.
COMMENT_DECISIONS = Counter(
    "kabar_comment_decisions_total",
    "Comment submissions by the rule that decided and the status it set",
    ["rule", "status"],
)
COMMENT_REPORTS = Counter(
    "kabar_comment_reports_total", "Readers' comment reports stored (a reader's repeat of one is not counted)"
)

_started: dict[str, float] = {}


class QueueDepthCollector(Collector):
    """Messages waiting in Kabar's queues, read from RabbitMQ when Prometheus scrapes."""

    def __init__(self, settings: KabarSettings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("kabar_queue_depth", "Messages ready in a Kabar queue", labels=["queue"])
        try:
            for queue, depth in queue_depths(broker_url=self.settings.broker_url, prefix=self.settings.prefix).items():
                if depth is not None:
                    gauge.add_metric([queue], depth)
        except Exception:  # the broker being down must not break the scrape
            log.warning("metrics.queue_depth_unavailable")
        yield gauge


def install(settings: KabarSettings, port: int | None, *, addr: str = "127.0.0.1") -> None:
    """Connect the task signals; serve the aggregate from the main worker process when a port is set."""

    @task_prerun.connect(weak=False)
    def _prerun(task_id: str, **_: Any) -> None:
        _started[task_id] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def _postrun(
        task_id: str,
        task: Any,
        state: str | None = None,
        kwargs: dict[str, Any] | None = None,
        retval: Any = None,
        **_: Any,
    ) -> None:
        started = _started.pop(task_id, None)
        if started is not None:
            TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)
        if task.name == TASK_INDEX_EVENTS and state == "SUCCESS" and isinstance(retval, dict):
            # Only what this task wrote: stale replays, refused and isolated events are not "indexed".
            applied = set(retval.get("applied") or ())
            now = datetime.now(UTC)
            for event in (kwargs or {}).get("events", []):
                if event.get("uid") not in applied:
                    continue
                try:
                    SEARCHABLE_LAG.observe((now - datetime.fromisoformat(event["accepted_at"])).total_seconds())
                except (KeyError, TypeError, ValueError):
                    continue

    @task_failure.connect(weak=False)
    def _failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
        TASK_FAILURES.labels(getattr(sender, "name", "unknown"), type(exception).__name__).inc()

    if port is None:
        return

    @worker_ready.connect(weak=False)
    def _serve(**_: Any) -> None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(QueueDepthCollector(settings))
        try:
            start_http_server(port, addr=addr, registry=registry)
        except OSError as exc:  # another worker on this host serves the port; tasks still run
            log.warning("worker.metrics_port_busy", port=port, error=str(exc))
            return
        log.info("worker.metrics_serving", port=port)
