"""Newsroom API keys in Redis, stored only as SHA-256 hashes, one or more per newsroom.

Ingest authenticates with them (services/ingest/auth.py); operators' commands and the WordPress bridge make
and revoke them. Here so neither has to import ingest.
"""

from __future__ import annotations

import hashlib
import secrets

from redis import Redis


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


def newsroom_of(*, redis: Redis, prefix: str, key: str) -> str | None:
    """The newsroom a key belongs to, or None for an unknown or revoked key."""
    newsroom = redis.get(_key_slot(prefix, _hash(key)))
    return None if newsroom is None else _str(newsroom)
