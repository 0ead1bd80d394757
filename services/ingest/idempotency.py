"""Idempotency-Key: a retried POST gets the first answer back instead of doing the work twice.

The first request with a key claims it (SET NX) with a hash of its body; its 2xx answer is stored
under the same key for `ttl` seconds. Errors release the claim, so a retry after a 503 can succeed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from shared.errors import Conflict, KabarError, Unprocessable

# A claim outlives any request (publisher confirms time out in seconds) but not a crashed process.
_PENDING_TTL = 60


@dataclass(frozen=True)
class Outcome:
    """An HTTP answer that can be stored and replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


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
        stored = json.loads(raw) if raw else None
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
        redis.set(slot, json.dumps({"hash": body_hash, "status": outcome.status, "body": outcome.body}), ex=ttl)
    else:
        redis.delete(slot)
    return outcome
