"""Index worker settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import KabarSettings


class IndexSettings(KabarSettings):
    """Worker behaviour (env KABAR_*)."""

    related_k: int = 5
    related_countdown_seconds: float = 0.5
    # Older articles that get the new one in their lists, at most this many per new article.
    related_fanout: int = 5
    related_refresh_debounce_seconds: float = 5.0
    # The reranker model file ("": the one shipped with the worker; "none": TF-IDF cosine and recency).
    related_model: str = ""
    # A write becomes searchable after the index refresh interval (1 s); follow-up computations that
    # must see it (the older articles' lists, lists after a withdrawal) wait at least this long.
    search_visibility_seconds: float = 1.5
    # The worker's main process serves Prometheus metrics here (None: off).
    worker_metrics_port: int | None = None
    worker_metrics_addr: str = "127.0.0.1"
    max_retries: int = 12
    # Every task has a time limit: at the soft one a batch is split into one message per event and a
    # single event is retried `timeout_retries` times, then dead-lettered; at the hard one the process
    # is replaced and the message returns to its queue, where RabbitMQ's delivery limit bounds it.
    task_soft_time_limit_seconds: float = 60.0
    task_time_limit_seconds: float = 90.0
    timeout_retries: int = 2
    retry_backoff_max_seconds: int = 60
    # The edge caches in front of publish (Varnish with xkey, deploy/varnish/kabar.vcl), comma-separated
    # base URLs: every change purges its pages there (services/index/edge). Empty: no edge, no purges.
    edge_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # One purge request's time limit; a slower edge is retried by the purge task, never waited on longer.
    edge_timeout_seconds: float = Field(default=2.0, gt=0)
    # Embargo releases (services/index/embargo): every worker consuming the index queue looks this often
    # for embargoes that lifted and sends their release tasks (0: this worker never polls).
    embargo_poll_seconds: float = Field(default=0.5, ge=0)
    # A poller claims due releases for this long: if it dies before sending them, they fire after this.
    embargo_claim_seconds: float = Field(default=10.0, gt=0)
    # Releases sent per poll at most (more due: the next poll follows at once).
    embargo_batch: int = Field(default=200, ge=1)
    # Where the notify workers read feeds for WebSub distribution: publish itself, not the edge (a copy there
    # may predate the change). Empty: site_url.
    publish_internal_url: str = ""
    # One call to a WebSub subscriber (verification or content); a slower one is retried, never waited on.
    websub_timeout_seconds: float = Field(default=10.0, gt=0)
    # IndexNow pings go here (KABAR_INDEXNOW_KEY turns them on). Changed URLs are collected this long
    # (whole seconds, RabbitMQ's delay) and sent in one request of at most 10,000.
    indexnow_endpoint: str = "https://api.indexnow.org/indexnow"
    indexnow_batch_seconds: int = Field(default=1, ge=0)
    indexnow_timeout_seconds: float = Field(default=10.0, gt=0)

    # One webhook delivery's time limit (services/index/notify/webhooks.py); a slower subscriber is retried.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Attempts before a webhook event is dead: logged dead, its message rejected into the dead-letter queue
    # (`kabar dead-letters replay`), redeliverable through the API; the article's later events go on.
    webhook_max_attempts: int = Field(default=8, ge=1)
    # Backoff between webhook attempts: exponential from base to max, with jitter (whole, even seconds).
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=300.0, gt=0)
    # A webhook delivery behind a lower, still pending revision of the same article looks again after this.
    webhook_order_wait_seconds: float = Field(default=2.0, gt=0)
    # Past this the delivery goes anyway: a lower one whose task was lost must not hold the article for ever.
    webhook_order_wait_max_seconds: float = Field(default=3600.0, gt=0)
    # Delivery log entries kept per subscription (newest first).
    webhook_log_size: int = Field(default=500, ge=1)

    @field_validator("edge_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value
