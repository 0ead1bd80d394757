"""The bridge's cursor in Redis with two runs of one site at once (a beat tick on one host while an operator
pulls on another): it only ever moves on, whatever the interleaving. No WordPress needed, only Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from redis import ConnectionPool, Redis
from redis.connection import Connection

from services.index.config import IndexSettings
from services.wordpress.pull import Site, SiteState


class _Interleaving(Connection):
    """A connection that runs `after_get` once, right after Redis answered a GET (the other run's turn)."""

    after_get: ClassVar[Callable[[], None] | None] = None

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self._sent = args
        super().send_command(*args, **kwargs)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().read_response(*args, **kwargs)
        hook = type(self).after_get
        if hook is not None and str(getattr(self, "_sent", ("",))[0]).upper() == "GET":
            type(self).after_get = None
            hook()
        return response


def test_a_run_that_read_the_cursor_before_another_moved_it_never_moves_it_back(
    settings: IndexSettings, redis: Redis, prefix: str
) -> None:
    site = Site(url="https://cursor.example", newsroom="cursor-room")
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    ahead, behind = start + timedelta(minutes=10), start + timedelta(minutes=5)
    other = SiteState(redis, prefix, site)
    other.advance(start)

    pool = ConnectionPool.from_url(settings.redis_url, connection_class=_Interleaving)
    slow = SiteState(Redis(connection_pool=pool), prefix, site)
    # The slow run reads the cursor; before it writes, the other run moves the cursor further on.
    _Interleaving.after_get = lambda: other.advance(ahead)
    try:
        slow.advance(behind)
    finally:
        _Interleaving.after_get = None
        pool.disconnect()
    assert other.cursor() == ahead
