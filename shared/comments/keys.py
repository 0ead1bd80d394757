"""Keyed hashes of what identifies a reader (email, address): enough to count, rate-limit, ban and erase."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import SecretStr

Kind = Literal["email", "address"]


def keyed_hash(key: SecretStr, kind: Kind, value: str) -> str:
    """HMAC-SHA256 (hex) of a normalised value; the kind is mixed in so an email never equals an address.

    Emails are compared case-insensitively and without surrounding blanks, as mail systems do in practice.
    """
    normalised = value.strip().lower() if kind == "email" else value.strip()
    message = f"{kind}\x00{normalised}".encode()
    return hmac.new(key.get_secret_value().encode(), message, hashlib.sha256).hexdigest()
