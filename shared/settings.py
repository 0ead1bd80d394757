"""Base settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KabarSettings(BaseSettings):
    """Where the backing services are and how Kabar names things in them."""

    model_config = SettingsConfigDict(env_prefix="KABAR_", env_file=".env", extra="ignore")

    # Topology is configuration: one node (the default) or a cluster's nodes, comma-separated (the client
    # spreads requests over them and retries a failed one on another node).
    es_url: str = "http://127.0.0.1:9200"
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_request_timeout: float = 10.0
    # Copies of every shard on other nodes: 0 on one node (a replica there could never be assigned), 1 on
    # a cluster of three, so losing any one node loses no data and no search.
    es_replicas: int = Field(default=0, ge=0, le=2)
    # The sizing rule for primary shards (shared.es.shard_count): articles expected in the index's life,
    # bytes per stored article (measured: bench.cluster_bench prints it), and the shard size aimed at.
    es_expected_articles: int = Field(default=200_000, ge=1)
    es_bytes_per_article: int = Field(default=12_000, ge=100)
    # A related list (items, and the ranking profile of its article's revision): 4-5 KB measured a list.
    es_bytes_per_related_list: int = Field(default=6_000, ge=100)
    es_target_shard_bytes: int = Field(default=30 * 1024**3, ge=1024**2)
    # One RabbitMQ, or a cluster's nodes `;`-separated: kombu's failover list, tried in turn on connection loss.
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    # One Redis (this URL), or a primary found through Sentinel when sentinels are given (host:port,
    # comma-separated); the URL then still gives the database, user and password.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: str = ""
    redis_sentinel_master: str = "kabar"
    # The Sentinels' own password (`requirepass` in sentinel.conf), when they have one.
    redis_sentinel_password: SecretStr | None = None
    # State commits wait until this many replicas have them (Redis WAIT), for at most the timeout, so a
    # failover cannot take back an acknowledged revision. 0 on a single Redis.
    redis_wait_replicas: int = Field(default=0, ge=0, le=5)
    redis_wait_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    # PostgreSQL holds what Kabar is the only copy of (reader comments). Each prefix gets its own schema.
    database_url: SecretStr = SecretStr("postgresql+psycopg://kabar:kabar@127.0.0.1:5432/kabar")
    database_pool_size: int = Field(default=5, ge=1, le=100)
    # Prefix for every index, alias, queue and Redis key, so test runs and tenants never collide.
    prefix: str = Field(default="kabar", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    site_url: str = "http://127.0.0.1:8002"
    log_level: str = "INFO"
    log_json: bool = True
    # Webhook targets on loopback, private or link-local addresses (checked at subscription and at each
    # delivery, so no subscriber can make Kabar call its own network). Only for tests and closed networks.
    webhook_allow_private_urls: bool = False
    # How long webhook event bodies and their done/dead marks are kept: redeliver works this long.
    webhook_retention_seconds: int = Field(default=7 * 86_400, ge=60)
    # IndexNow (indexnow.org): the key publish serves at /{key}.txt and the workers send with every ping of
    # changed URLs. Empty: IndexNow is off (no key file, no pings).
    indexnow_key: str = Field(default="", pattern=r"^([A-Za-z0-9-]{8,128})?$")
    # WebSub callbacks on loopback or private addresses are refused (a hub that calls any URL it is given is
    # an SSRF hole into the network it runs in); on for tests, or when subscribers live on the same network.
    websub_allow_private_callbacks: bool = False
    # Reader comments. Emails and addresses are stored only as HMAC-SHA256 hashes under this key (enough to
    # rate-limit, ban and erase, never to read back): set a long random value in production and keep it,
    # since a new key makes every known commenter a new one.
    comment_hash_key: SecretStr = SecretStr("kabar-development-comment-key")
    # The moderation mode and closing age a newsroom gets until it sets its own (comment policies).
    comment_default_mode: Literal["pre", "post"] = "pre"
    comment_close_after_days: int = Field(default=30, ge=0)
    # Submissions per commenter and per address within this window before the rate rules refuse more.
    comment_rate_window_seconds: int = Field(default=600, ge=1)
    comment_max_per_commenter: int = Field(default=5, ge=1)
    comment_max_per_address: int = Field(default=20, ge=1)
