"""The moderation page's session: a signed cookie, a CSRF token derived from it, logout by revocation.

The cookie holds `{newsroom, moderator id, username, session id, expiry}` signed with HMAC-SHA256 under
`moderation_session_secret`; nothing is stored server-side except revoked session ids (logout), kept in
Redis until the cookie would have expired anyway. Each request also checks that the moderator is still
enabled. The CSRF token is an HMAC of the session id: one per session, checked on every POST (a form
field), never stored. Before login, a random pre-session cookie plays the session id's part, so the login
form cannot be posted from another site either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from pydantic import SecretStr
from redis import Redis


@dataclass(frozen=True)
class ModeratorSession:
    newsroom: str
    moderator_id: int
    username: str
    sid: str
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: SecretStr, purpose: str, value: str) -> str:
    return _b64(hmac.new(secret.get_secret_value().encode(), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest())


def new_session(*, newsroom: str, moderator_id: int, username: str, lifetime: int) -> ModeratorSession:
    return ModeratorSession(
        newsroom=newsroom,
        moderator_id=moderator_id,
        username=username,
        sid=secrets.token_urlsafe(18),
        expires=int(time.time()) + lifetime,
    )


def sign(secret: SecretStr, session: ModeratorSession) -> str:
    payload = _b64(
        json.dumps(
            {
                "n": session.newsroom,
                "m": session.moderator_id,
                "u": session.username,
                "s": session.sid,
                "e": session.expires,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(secret, 'session', payload)}"


def _revoked_key(prefix: str, sid: str) -> str:
    return f"{prefix}:moderasi:revoked:{sid}"


def read(*, secret: SecretStr, cookie: str | None, redis: Redis, prefix: str) -> ModeratorSession | None:
    """The session a cookie carries, if its signature holds, it has not expired and nobody logged it out."""
    if not cookie or cookie.count(".") != 1:
        return None
    payload, mac = cookie.split(".")
    if not hmac.compare_digest(mac, _mac(secret, "session", payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = ModeratorSession(
            newsroom=str(data["n"]),
            moderator_id=int(data["m"]),
            username=str(data["u"]),
            sid=str(data["s"]),
            expires=int(data["e"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires <= time.time() or redis.exists(_revoked_key(prefix, session.sid)):
        return None
    return session


def revoke(*, redis: Redis, prefix: str, session: ModeratorSession) -> None:
    """Logout: the cookie stops working everywhere, even if a copy of it survives."""
    ttl = max(1, session.expires - int(time.time()))
    redis.set(_revoked_key(prefix, session.sid), 1, ex=ttl)


def csrf_token(secret: SecretStr, sid: str) -> str:
    return _mac(secret, "csrf", sid)


def csrf_ok(secret: SecretStr, sid: str | None, token: str | None) -> bool:
    if not sid or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret, sid))


def new_pre_session() -> str:
    """The login form's stand-in for a session id (cookie), so its CSRF token has something to bind to."""
    return secrets.token_urlsafe(18)
