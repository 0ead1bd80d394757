"""Authenticating a newsroom by its API key (the keys themselves: shared/apikeys.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from shared.apikeys import create_key, newsroom_of, revoke_key, revoke_newsroom
from shared.errors import Unauthorized

# The key store lives in shared (the WordPress bridge and operators' commands make keys too); ingest's
# callers keep importing it from here.
__all__ = ["Newsroom", "authenticate", "create_key", "revoke_key", "revoke_newsroom"]


@dataclass(frozen=True)
class Newsroom:
    id: str


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
    newsroom = newsroom_of(redis=redis, prefix=prefix, key=key)
    if newsroom is None:
        raise Unauthorized("Unknown or revoked API key.", headers={"WWW-Authenticate": "Bearer"})
    return Newsroom(id=newsroom)
