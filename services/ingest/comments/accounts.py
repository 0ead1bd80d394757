"""Moderator accounts for the moderation page: scrypt password hashes, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.comments.tables import Moderator
from shared.errors import Conflict, NotFound

# scrypt's interactive-login parameters (RFC 7914 section 2): 16 MiB and some 50 ms a check.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 12


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` (base64), so the parameters can be raised later without breaking old hashes."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so an unknown name costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(*, session: Session, newsroom: str, username: str, password: str) -> Moderator | None:
    """The enabled moderator with this name and password in this newsroom, or None (whichever part was wrong)."""
    if "\x00" in newsroom or "\x00" in username:  # PostgreSQL text cannot hold NUL: no such moderator
        verify_password(password, _dummy_hash())
        return None
    moderator = session.scalar(select(Moderator).where(Moderator.newsroom == newsroom, Moderator.username == username))
    ok = verify_password(password, moderator.password_hash if moderator else _dummy_hash())
    if moderator is None or not ok or moderator.disabled_at is not None:
        return None
    return moderator


def active(*, session: Session, moderator_id: int, newsroom: str) -> Moderator | None:
    """The moderator a session names, if still enabled: disabling one ends their sessions at the next request."""
    return session.scalar(
        select(Moderator).where(
            Moderator.id == moderator_id, Moderator.newsroom == newsroom, Moderator.disabled_at.is_(None)
        )
    )


def add(*, session: Session, newsroom: str, username: str, password: str) -> Moderator:
    """A new moderator of one newsroom; 409 when the name is taken there."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"The password needs at least {MIN_PASSWORD_CHARS} characters.")
    exists = session.scalar(select(Moderator.id).where(Moderator.newsroom == newsroom, Moderator.username == username))
    if exists is not None:
        raise Conflict(f"{username!r} already moderates {newsroom!r}.")
    moderator = Moderator(newsroom=newsroom, username=username, password_hash=hash_password(password))
    session.add(moderator)
    session.commit()
    return moderator


def set_disabled(*, session: Session, newsroom: str, username: str, disabled: bool) -> Moderator:
    """Disable (or enable again) a moderator; a disabled one cannot log in and their sessions stop working."""
    moderator = session.scalar(select(Moderator).where(Moderator.newsroom == newsroom, Moderator.username == username))
    if moderator is None:
        raise NotFound(f"No moderator {username!r} in {newsroom!r}.")
    moderator.disabled_at = datetime.now(UTC) if disabled else None
    session.commit()
    return moderator
