"""Newsroom API keys: stored only as SHA-256 hashes in Redis, one or more per newsroom."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from redis import Redis

from shared.errors import Unauthorized


@dataclass(frozen=True)
class Newsroom:
    id: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _str(value: bytes | str) -> str:
    """Redis answers bytes unless the client decodes responses; accept both."""
    return value.decode() if isinstance(value, bytes) else value


def _key_slot(prefix: str, key_hash: str) -> str:
    return f"{prefix}:apikey:{key_hash}"


def create_key(*, redis: Redis, prefix: str, newsroom: str) -> str:
    """Create an API key for a newsroom; the plain key is returned once and never stored."""
    key = f"kbr_{secrets.token_urlsafe(32)}"
    key_hash = _hash(key)
    pipe = redis.pipeline()
    pipe.set(_key_slot(prefix, key_hash), newsroom)
    pipe.sadd(f"{prefix}:newsroom:{newsroom}:keys", key_hash)
    pipe.execute()
    return key


def revoke_key(*, redis: Redis, prefix: str, key: str) -> bool:
    key_hash = _hash(key)
    newsroom = redis.get(_key_slot(prefix, key_hash))
    if newsroom is None:
        return False
    pipe = redis.pipeline()
    pipe.delete(_key_slot(prefix, key_hash))
    pipe.srem(f"{prefix}:newsroom:{_str(newsroom)}:keys", key_hash)
    pipe.execute()
    return True


def revoke_newsroom(*, redis: Redis, prefix: str, newsroom: str) -> int:
    """Revoke every key of a newsroom; returns how many."""
    hashes = redis.smembers(f"{prefix}:newsroom:{newsroom}:keys")
    pipe = redis.pipeline()
    for key_hash in hashes:
        pipe.delete(_key_slot(prefix, _str(key_hash)))
    pipe.delete(f"{prefix}:newsroom:{newsroom}:keys")
    pipe.execute()
    return len(hashes)


def authenticate(*, redis: Redis, prefix: str, authorization: str | None, api_key: str | None) -> Newsroom:
    """Resolve the key from `Authorization: Bearer` or `X-API-Key` to its newsroom, or 401."""
    key = api_key
    if not key and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            key = value.strip()
    if not key:
        raise Unauthorized(
            "Send the newsroom's API key as a Bearer token or in X-API-Key.", headers={"WWW-Authenticate": "Bearer"}
        )
    newsroom = redis.get(_key_slot(prefix, _hash(key)))
    if newsroom is None:
        raise Unauthorized("Unknown or revoked API key.", headers={"WWW-Authenticate": "Bearer"})
    return Newsroom(id=_str(newsroom))
