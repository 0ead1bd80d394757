"""The purge listener publish runs, against real Redis behind a loopback proxy that can stall the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from urllib.parse import urlparse

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from services.index.config import IndexSettings
from shared.purge import PurgeNotice, follow_purges, publish_purge, purge_channel
from tests.faults.proxy import TcpProxy


class Recorder:
    """What the listener handed over, with a way to wait for the next change."""

    def __init__(self) -> None:
        self.heard: list[list[str]] = []
        self.subscriptions = 0
        self._changed = asyncio.Event()

    def on_subscribed(self) -> None:
        self.subscriptions += 1
        self._changed.set()

    def on_purge(self, notice: PurgeNotice) -> None:
        self.heard.append(notice.uids)
        self._changed.set()

    async def until(self, check: Callable[[], bool], *, within: float, what: str) -> None:
        try:
            async with asyncio.timeout(within):
                while not check():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"nothing after {within}s: {what}") from None


def test_listener_skips_bad_notices_and_replaces_a_stalled_connection(
    redis: Redis, prefix: str, settings: IndexSettings
) -> None:
    channel_prefix = f"{prefix}-listener"  # a channel of its own: no publish process of this run listens here
    target = urlparse(settings.redis_url)
    proxy = TcpProxy(target_host=target.hostname or "127.0.0.1", target_port=target.port or 6379).start()

    async def scenario() -> None:
        seen = Recorder()
        client = AsyncRedis.from_url(f"redis://{proxy.url_host_port}{target.path}", socket_connect_timeout=1)
        listener = asyncio.create_task(
            follow_purges(
                redis=client,
                prefix=channel_prefix,
                on_purge=seen.on_purge,
                on_subscribed=seen.on_subscribed,
                ping_every=0.3,
            )
        )
        try:
            await seen.until(lambda: seen.subscriptions == 1, within=5, what="the first subscription")
            channel = purge_channel(channel_prefix)
            redis.publish(channel, b"not json")
            redis.publish(channel, json.dumps({"schema_version": 2, "uids": ["from-the-future"]}))
            assert publish_purge(redis, channel_prefix, ["a", "b", "a"]) == 1
            await seen.until(lambda: seen.heard == [["a", "b"]], within=5, what="the notice")

            # Stalled, not reset: only the listener's own ping can tell the connection is gone.
            proxy.pause()
            await asyncio.sleep(1.5)
            proxy.resume()
            await seen.until(lambda: seen.subscriptions >= 2, within=10, what="a fresh subscription")
            assert publish_purge(redis, channel_prefix, ["c"]) == 1
            await seen.until(lambda: seen.heard[-1] == ["c"], within=5, what="a notice on the new connection")
            assert not listener.done()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await client.aclose()

    try:
        asyncio.run(scenario())
    finally:
        proxy.stop()
