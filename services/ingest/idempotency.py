"""Idempotency-Key: a retried POST gets the first answer back instead of doing the work twice.

The first request with a key claims it (SET NX) with a hash of its body; its 2xx answer is stored
under the same key for `ttl` seconds. Errors release the claim, so a retry after a 503 can succeed.

Stored answers are bounded by bytes: an answer is kept zlib-compressed, and only while it fits both
`max_answer_bytes` and the newsroom's byte budget. Otherwise only its top-level fields are kept (the
counts of a bulk answer, without its items), so a replay still does no work and says what happened.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from shared.errors import Conflict, KabarError, Unprocessable

# A claim outlives any request (publisher confirms time out in seconds) but not a crashed process.
_PENDING_TTL = 60

# Take ARGV[1] bytes from the budget window KEYS[1] unless that passes ARGV[2]; 1 if taken, else 0.
_TAKE_BYTES = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
return 1
"""


@dataclass(frozen=True)
class Outcome:
    """An HTTP answer that can be stored and replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def _take_budget(*, redis: Redis, prefix: str, newsroom: str, size: int, budget: int, ttl: int) -> bool:
    """Count `size` stored bytes against the newsroom's budget, or say it does not fit.

    Windows are `ttl` long and each may take half the budget: an answer lives at most `ttl`, so the
    answers alive at any moment were stored in the current or the previous window, never more than
    the budget in all.
    """
    window = int(time.time() // ttl)
    key = f"{prefix}:idem-bytes:{newsroom}:{window}"
    return bool(redis.register_script(_TAKE_BYTES)(keys=[key], args=[size, budget // 2, 2 * ttl]))


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without its per-item list: what a replay can still say when the items were not kept."""
    if "items" not in body:
        return body
    return {**{k: v for k, v in body.items() if k != "items"}, "items": [], "items_omitted": True}


def _record(
    *,
    redis: Redis,
    prefix: str,
    newsroom: str,
    body_hash: str,
    outcome: Outcome,
    ttl: int,
    max_answer_bytes: int,
    max_newsroom_bytes: int,
) -> bytes:
    """The stored form of a finished request: a JSON header line, then the compressed answer if it fits."""
    header = {"hash": body_hash, "status": outcome.status}
    packed = zlib.compress(json.dumps(outcome.body, separators=(",", ":")).encode())
    if len(packed) <= max_answer_bytes and _take_budget(
        redis=redis, prefix=prefix, newsroom=newsroom, size=len(packed), budget=max_newsroom_bytes, ttl=ttl
    ):
        return json.dumps(header).encode() + b"\n" + packed
    return json.dumps({**header, "body": _summary(outcome.body)}).encode()


def _load(raw: bytes | str) -> dict[str, Any]:
    """A stored claim or answer; the answer, when kept, follows the header line compressed."""
    data = raw if isinstance(raw, bytes) else raw.encode()
    head, newline, packed = data.partition(b"\n")
    stored: dict[str, Any] = json.loads(head)
    if newline:
        stored["body"] = json.loads(zlib.decompress(packed))
    return stored


def run_idempotent(
    *,
    redis: Redis,
    prefix: str,
    newsroom: str,
    key: str | None,
    method_path: str,
    body: bytes,
    ttl: int,
    action: Callable[[], Outcome],
    max_answer_bytes: int = 65_536,
    max_newsroom_bytes: int = 32_000_000,
) -> Outcome:
    """Run action once per (newsroom, key); the same key and body replay the stored answer."""
    if not key:
        return action()
    if len(key) > 255:
        raise Unprocessable("Idempotency-Key is longer than 255 characters.")
    slot = f"{prefix}:idem:{newsroom}:{hashlib.sha256(key.encode()).hexdigest()}"
    body_hash = hashlib.sha256(method_path.encode() + b"\n" + body).hexdigest()
    pending = json.dumps({"hash": body_hash, "pending": True})
    if not redis.set(slot, pending, nx=True, ex=_PENDING_TTL):
        raw = redis.get(slot)
        stored = _load(raw) if raw else None
        if stored is None:  # expired between the two calls; the client may simply retry
            raise Conflict("The Idempotency-Key was just released; retry the request.")
        if stored["hash"] != body_hash:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request body.",
                extra={"errors": [{"pointer": "/", "detail": "request differs from the first use of this key"}]},
            )
        if stored.get("pending"):
            raise Conflict("A request with this Idempotency-Key is still in progress; retry later.")
        return Outcome(status=int(stored["status"]), body=stored["body"], replayed=True)
    try:
        outcome = action()
    except (KabarError, Exception):
        redis.delete(slot)
        raise
    if 200 <= outcome.status < 300:
        record = _record(
            redis=redis,
            prefix=prefix,
            newsroom=newsroom,
            body_hash=body_hash,
            outcome=outcome,
            ttl=ttl,
            max_answer_bytes=max_answer_bytes,
            max_newsroom_bytes=max_newsroom_bytes,
        )
        redis.set(slot, record, ex=ttl)
    else:
        redis.delete(slot)
    return outcome
