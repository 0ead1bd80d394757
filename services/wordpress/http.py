"""Polite HTTP for the bridge: one User-Agent, bounded retries with backoff on 429 and 5xx, Retry-After obeyed.

Used for both ends, WordPress's REST API and Kabar's own ingest API (which answers 503 with Retry-After
while its broker is away): a newsroom's site is someone else's production server, so the bridge waits
rather than hammers, and gives up with a clear error after `attempts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

USER_AGENT = "Kabar-WordPress-Bridge/1.0 (+https://github.com/kabar)"
RETRIED = frozenset({429, 500, 502, 503, 504})


class BridgeHTTPError(RuntimeError):
    """A request that kept failing (or failed for good): the run stops and its cursor stays where it was."""


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    attempts: int = 6,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """The response of the first attempt that is not 429/5xx or a transport error; the last one otherwise."""
    for attempt in range(attempts):
        delay = min(max_delay, base_delay * 2**attempt)
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if attempt == attempts - 1:
                raise BridgeHTTPError(f"{method} {url}: {exc!r}") from exc
            sleep(delay)
            continue
        if response.status_code not in RETRIED or attempt == attempts - 1:
            return response
        sleep(min(max_delay, _retry_after(response, delay)))
    raise AssertionError("unreachable")


def client(base_url: str, *, auth: tuple[str, str] | None = None, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=base_url, auth=auth, timeout=timeout, headers={"User-Agent": USER_AGENT})
