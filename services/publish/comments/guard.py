"""What a comment form must carry: a CSRF token tied to a cookie, and proof that a person (or a paying bot) sent it.

Two proofs, either one enough:
- ALTCHA proof of work (https://altcha.org, the `altcha` package's v1 scheme): the form page embeds a signed
  challenge, `static/komentar.js` finds the number whose SHA-256 with the salt matches it and fills the
  `altcha` field. Verification is one hash and one HMAC; each challenge is accepted once (Redis SET NX
  until it expires), so one solution cannot carry a flood.
- For readers without JavaScript, a small sum in Indonesian words ("Berapa tujuh tambah tiga?"). The answer
  is never in the page: the form carries only an HMAC over the answer, the time the form was opened and a
  nonce, so the server recomputes it from the reader's answer. Accepted once too, and only after a few
  seconds (people take longer than that to write anything).

Every token is signed with `comment_form_key`; none needs server-side state until it is spent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from altcha import ChallengeOptionsV1, create_challenge_v1, verify_solution_v1
from pydantic import SecretStr
from redis.asyncio import Redis

from services.publish.comments.errors import BadForm, FormExpired, NotAPerson, Replayed

CSRF_COOKIE = "kabar_csrf"


def _number_words() -> dict[str, int]:
    words = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
    words += ["sepuluh", "sebelas"]
    table = {w: i for i, w in enumerate(words)}
    for i in range(2, 10):
        table[f"{words[i]} belas"] = 10 + i
    table["dua puluh"] = 20
    return table


WORD_NUMBERS = _number_words()
NUMBER_NAMES = {n: w for w, n in WORD_NUMBERS.items()}


def _mac(key: SecretStr, *parts: str) -> str:
    message = "\x00".join(parts).encode()
    return hmac.new(key.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


# ---- CSRF: a random cookie and a form field signed over it ------------------------------------------


def new_cookie_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_field(key: SecretStr, cookie: str, *, now: float | None = None) -> str:
    """The form's token: when it was issued and an HMAC over the cookie and that time."""
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_mac(key, 'csrf', cookie, issued)}"


def check_csrf(key: SecretStr, *, cookie: str | None, field: str | None, ttl: int) -> None:
    """The field was signed for this cookie within `ttl` seconds (403 otherwise)."""
    if not cookie or not field or "." not in field:
        raise NotAPerson("csrf_missing")
    issued, _, mac = field.partition(".")
    if not issued.isascii() or not issued.isdigit() or len(issued) > 12:
        raise NotAPerson("csrf_missing")
    if not hmac.compare_digest(mac, _mac(key, "csrf", cookie, issued)):
        raise NotAPerson("csrf_missing")
    if time.time() - int(issued) > ttl:
        raise FormExpired("form_expired")


# ---- ALTCHA proof of work -------------------------------------------------------------------------------


def pow_challenge(key: SecretStr, *, max_number: int, ttl: int) -> dict[str, object]:
    """A fresh signed challenge as the browser script needs it (algorithm, challenge, maxnumber, salt, signature)."""
    challenge = create_challenge_v1(
        ChallengeOptionsV1(
            hmac_key=key.get_secret_value(),
            max_number=max_number,
            expires=datetime.now(UTC) + timedelta(seconds=ttl),
        )
    )
    return challenge.to_dict()


@dataclass(frozen=True)
class Spent:
    """What a proof was: its single-use key in Redis and how long that key must live."""

    key: str
    ttl: int


def check_pow(key: SecretStr, payload: str) -> Spent:
    """A valid, unexpired solution (403 otherwise); spend it with `spend` before acting on it."""
    if len(payload) > 2000:
        raise NotAPerson("challenge_failed")
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
    except (ValueError, binascii.Error):
        raise NotAPerson("challenge_failed") from None
    if not isinstance(data, dict) or data.get("algorithm") != "SHA-256" or not isinstance(data.get("number"), int):
        raise NotAPerson("challenge_failed")
    salt = data.get("salt")
    expires = _expires(salt)
    if expires is None:  # every challenge Kabar signs expires; an unexpiring one is not ours
        raise NotAPerson("challenge_failed")
    ok, _ = verify_solution_v1(payload, key.get_secret_value(), check_expires=True)
    if not ok:
        raise NotAPerson("challenge_failed")
    return Spent(key=f"pow:{data['signature']}", ttl=max(1, expires - int(time.time()) + 1))


def _expires(salt: object) -> int | None:
    if not isinstance(salt, str) or "?" not in salt:
        return None
    for pair in salt.split("?", 1)[1].split("&"):
        name, _, value = pair.partition("=")
        if name == "expires" and value.isascii() and value.isdigit() and len(value) < 12:
            return int(value)
    return None


# ---- The no-JavaScript question --------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    text: str  # "Berapa tujuh tambah tiga?"
    token: str  # issued.nonce.mac


def new_question(key: SecretStr, *, now: float | None = None) -> Question:
    """A sum or difference of two numbers up to ten, the answer between 0 and 20, in words."""
    a, b = secrets.randbelow(10) + 1, secrets.randbelow(10) + 1
    if secrets.randbelow(2):
        op, answer = "tambah", a + b
    else:
        a, b = max(a, b), min(a, b)
        op, answer = "kurang", a - b
    issued = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(8)
    mac = _mac(key, "soal", issued, nonce, str(answer))
    return Question(text=f"Berapa {NUMBER_NAMES[a]} {op} {NUMBER_NAMES[b]}?", token=f"{issued}.{nonce}.{mac}")


def parse_answer(text: str) -> int | None:
    """Digits or Indonesian words ("10", "sepuluh", "Dua Belas")."""
    words = " ".join(text.strip().lower().split())[:40]
    if words.isascii() and words.isdigit():
        return int(words)
    return WORD_NUMBERS.get(words)


def check_answer(key: SecretStr, *, token: str, answer: str, ttl: int, min_seconds: float) -> Spent:
    """The right answer, within `ttl` of the form opening and no sooner than `min_seconds` (403 otherwise)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 12:
        raise NotAPerson("challenge_failed")
    issued, nonce, mac = parts
    number = parse_answer(answer)
    if number is None or not hmac.compare_digest(mac, _mac(key, "soal", issued, nonce, str(number))):
        raise NotAPerson("wrong_answer")
    age = time.time() - int(issued)
    if age > ttl:
        raise FormExpired("form_expired")
    if age < min_seconds:
        raise NotAPerson("too_fast")
    return Spent(key=f"soal:{nonce}", ttl=max(1, int(ttl - age) + 1))


async def spend(redis: Redis, *, prefix: str, spent: Spent) -> None:
    """Accept a proof once: the first use records it until it expires; any other use is a replay (403)."""
    if not await redis.set(f"{prefix}:comments:{spent.key}", b"1", nx=True, ex=spent.ttl):
        raise Replayed("challenge_replayed")


def check_honeypot(value: str | None) -> None:
    """The field people never see (and so never fill)."""
    if value:
        raise BadForm("honeypot")
