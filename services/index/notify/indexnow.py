"""IndexNow (indexnow.org): tell search engines which article URLs changed, batched, on the notify queue.

Every visible change counts, withdrawals and deletions too: a search engine must recrawl a withdrawn URL
to see its 410. The notifier collects URLs in a Redis set; one collector task per burst (batch window
indexnow_batch_seconds) drains it into pings of at most 10,000 URLs, each retried on 429/5xx.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import structlog

from shared.events import ArticleChange
from shared.messaging import TASK_INDEXNOW_PING, Queues

if TYPE_CHECKING:
    from services.index.config import IndexSettings
    from services.index.taskbase import KabarTask

log = structlog.get_logger()

# The protocol's limit per request.
MAX_URLS = 10_000
# A scheduled collector holds the "pending" mark at most this long (a lost task frees it after this).
PENDING_SECONDS = 300


class IndexNowRetry(Exception):
    """The endpoint asked us to come back (429) or failed (5xx): retried with backoff."""


def _keys(prefix: str) -> tuple[str, str]:
    return f"{prefix}:indexnow:urls", f"{prefix}:indexnow:pending"


def _send(task: KabarTask, **kwargs: object) -> None:
    settings = task.settings
    task.app.send_task(
        TASK_INDEXNOW_PING,
        kwargs=kwargs,
        queue=Queues(settings.prefix).notify,
        countdown=settings.indexnow_batch_seconds if not kwargs else 0,
    )


def notify_changes(task: KabarTask, changes: list[ArticleChange]) -> None:
    """Notifier: collect the changed articles' URLs; the first of a burst schedules the collector."""
    settings = task.settings
    if not settings.indexnow_key:
        return
    base = settings.site_url.rstrip("/")
    urls = sorted({base + c.path for c in changes if c.path})
    if not urls:
        return
    urls_key, pending_key = _keys(settings.prefix)
    redis = task.ctx.redis
    pipe = redis.pipeline(transaction=True)
    pipe.sadd(urls_key, *urls)
    pipe.set(pending_key, "1", nx=True, ex=PENDING_SECONDS)
    if not pipe.execute()[1]:
        return
    try:
        _send(task)
    except Exception:
        redis.delete(pending_key)  # the redelivered batch schedules it again
        raise


def ping(self: KabarTask, *, urls: list[str] | None = None) -> int:
    """Without URLs: drain the collected set into pings. With URLs: POST them to the IndexNow endpoint."""
    settings = self.settings
    if not settings.indexnow_key:
        return 0
    if urls is None:
        return _collect(self)
    return _post(settings, urls)


def _collect(task: KabarTask) -> int:
    urls_key, pending_key = _keys(task.settings.prefix)
    redis = task.ctx.redis
    # Clear "pending" first: a URL added after this schedules its own collector; one added before is popped.
    redis.delete(pending_key)
    pings = 0
    while batch := redis.spop(urls_key, MAX_URLS):
        urls = sorted(u.decode() if isinstance(u, bytes) else u for u in batch)
        try:
            _send(task, urls=urls)
        except Exception:
            redis.sadd(urls_key, *urls)  # kept for the retried collector
            raise
        pings += 1
    return pings


def request_body(settings: IndexSettings, urls: list[str]) -> dict[str, object]:
    """The JSON IndexNow expects: the site's host, the key, where the key file is, and the URLs."""
    base = settings.site_url.rstrip("/")
    return {
        "host": urlsplit(base).hostname or "",
        "key": settings.indexnow_key,
        "keyLocation": f"{base}/{settings.indexnow_key}.txt",
        "urlList": urls[:MAX_URLS],
    }


def _post(settings: IndexSettings, urls: list[str]) -> int:
    body = json.dumps(request_body(settings, urls)).encode()
    response = httpx.post(
        settings.indexnow_endpoint,
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=settings.indexnow_timeout_seconds,
    )
    if response.status_code == 429 or response.status_code >= 500:
        raise IndexNowRetry(f"IndexNow answered {response.status_code}")
    if not response.is_success:
        # 400 (bad request), 403 (key not valid), 422 (URLs not of this host): retrying cannot help.
        log.warning("indexnow.refused", status=response.status_code, urls=len(urls), detail=response.text[:200])
        return 0
    log.info("indexnow.pinged", status=response.status_code, urls=len(urls))
    return len(urls)
