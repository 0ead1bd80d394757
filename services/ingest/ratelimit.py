"""Rate limits in fixed one-minute windows counted in Redis (shared by every ingest process).

Two budgets: requests per newsroom, and requests without a valid key per client address, so nobody
gets work done without a key.
"""

from __future__ import annotations

import time

from redis import Redis

from shared.errors import RateLimited


def _window(now: float | None) -> tuple[float, int]:
    now = time.time() if now is None else now
    return now, int(now // 60)


def _retry_after(now: float, window: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, int((window + 1) * 60 - now) + 1))}


def _count(redis: Redis, key: str) -> int:
    pipe = redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, 61, nx=True)
    return int(pipe.execute()[0])


def check_rate(*, redis: Redis, prefix: str, newsroom: str, per_minute: int, now: float | None = None) -> None:
    """Count this request against the newsroom's window, or raise 429 with Retry-After."""
    now, window = _window(now)
    if _count(redis, f"{prefix}:rate:{newsroom}:{window}") > per_minute:
        raise RateLimited(
            f"More than {per_minute} requests this minute for this newsroom.",
            headers=_retry_after(now, window),
            extra={"limit_per_minute": per_minute},
        )


def check_client_rate(*, redis: Redis, prefix: str, client: str, per_minute: int, now: float | None = None) -> None:
    """Count a request without a valid key against its client address, or raise 429 with Retry-After."""
    now, window = _window(now)
    if _count(redis, f"{prefix}:rate:anon:{client}:{window}") > per_minute:
        raise RateLimited(
            f"More than {per_minute} requests without a valid API key this minute from this address.",
            headers=_retry_after(now, window),
        )
