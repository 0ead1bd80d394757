"""Redis clients from settings: one server by URL, or the current primary found through Sentinel.

Every process makes its Redis clients here, so a deployment moves from one Redis to a primary with
replicas and Sentinels by configuration only. A Sentinel-managed client asks the Sentinels for the
primary when it connects and again after a connection error, so after a failover the next command (or
its retry) reaches the new primary without a restart.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.connection import parse_url
from redis.sentinel import Sentinel

from shared.settings import KabarSettings

# Asking a Sentinel must not hang a request: a dead Sentinel is skipped for the next one quickly.
SENTINEL_TIMEOUT = 1.0


def sentinel_hosts(value: str) -> list[tuple[str, int]]:
    """`host:port,host:port` → [(host, port), ...]; empty when no Sentinels are configured."""
    hosts = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"KABAR_REDIS_SENTINELS: {item!r} is not host:port")
        hosts.append((host, int(port)))
    return hosts


def _sentinel_options(settings: KabarSettings) -> dict[str, Any]:
    password = settings.redis_sentinel_password
    return {"socket_timeout": SENTINEL_TIMEOUT, "password": password.get_secret_value() if password else None}


def _server_options(settings: KabarSettings, options: dict[str, Any]) -> dict[str, Any]:
    """Database, user and password from the URL (the host in it is ignored under Sentinel)."""
    parsed = parse_url(settings.redis_url)
    return {k: v for k, v in parsed.items() if k in ("db", "username", "password")} | options


def redis_client(settings: KabarSettings, **options: Any) -> Redis:
    """A synchronous client; callers own it and close it."""
    hosts = sentinel_hosts(settings.redis_sentinels)
    if not hosts:
        return Redis.from_url(settings.redis_url, **options)
    sentinel = Sentinel(hosts, sentinel_kwargs=_sentinel_options(settings))
    return sentinel.master_for(settings.redis_sentinel_master, **_server_options(settings, options))


def async_redis_client(settings: KabarSettings, **options: Any) -> AsyncRedis:
    """The asyncio twin of redis_client (publish)."""
    hosts = sentinel_hosts(settings.redis_sentinels)
    if not hosts:
        return AsyncRedis.from_url(settings.redis_url, **options)
    sentinel = AsyncSentinel(hosts, sentinel_kwargs=_sentinel_options(settings))
    return sentinel.master_for(settings.redis_sentinel_master, **_server_options(settings, options))
