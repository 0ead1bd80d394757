"""Rate limits in fixed one-minute windows counted in Redis (shared by every ingest process).

Three budgets: requests per newsroom, articles per newsroom (one bulk request carries hundreds), and
requests without a valid key per client address, so nobody gets work done without a key.
"""

from __future__ import annotations

import time

from redis import Redis

from shared.errors import PayloadTooLarge, RateLimited

# Add ARGV[1] articles to the window unless that would pass the limit ARGV[2]: a refused bulk request
# takes nothing, so smaller writes can still go through in the same minute. Returns the new count, or -1.
_TAKE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -1 end
count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 61, 'NX')
return count
"""


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


def take_articles(
    *, redis: Redis, prefix: str, newsroom: str, articles: int, per_minute: int, now: float | None = None
) -> None:
    """Count a write's articles against the newsroom's window, or raise 429 (413 if it can never fit)."""
    if articles > per_minute:
        raise PayloadTooLarge(f"{articles} articles in one request; this newsroom may send {per_minute} a minute.")
    now, window = _window(now)
    key = f"{prefix}:rate:{newsroom}:articles:{window}"
    if int(redis.register_script(_TAKE)(keys=[key], args=[articles, per_minute])) < 0:
        raise RateLimited(
            f"This request's {articles} article(s) would pass {per_minute} articles this minute for this newsroom.",
            headers=_retry_after(now, window),
            extra={"article_limit_per_minute": per_minute},
        )


def check_client_rate(*, redis: Redis, prefix: str, client: str, per_minute: int, now: float | None = None) -> None:
    """Count a request without a valid key against its client address, or raise 429 with Retry-After."""
    now, window = _window(now)
    if _count(redis, f"{prefix}:rate:anon:{client}:{window}") > per_minute:
        raise RateLimited(
            f"More than {per_minute} requests without a valid API key this minute from this address.",
            headers=_retry_after(now, window),
        )
