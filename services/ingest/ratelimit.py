"""Per-newsroom rate limit: a fixed one-minute window counted in Redis (shared by every ingest process)."""

from __future__ import annotations

import time

from redis import Redis

from shared.errors import RateLimited


def check_rate(*, redis: Redis, prefix: str, newsroom: str, per_minute: int, now: float | None = None) -> None:
    """Count this request against the newsroom's window, or raise 429 with Retry-After."""
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"{prefix}:rate:{newsroom}:{window}"
    pipe = redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, 61, nx=True)
    count = int(pipe.execute()[0])
    if count > per_minute:
        retry_after = max(1, int((window + 1) * 60 - now) + 1)
        raise RateLimited(
            f"More than {per_minute} requests this minute for this newsroom.",
            headers={"Retry-After": str(retry_after)},
            extra={"limit_per_minute": per_minute},
        )
