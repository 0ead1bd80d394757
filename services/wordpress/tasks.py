"""The periodic pull (Celery beat, one entry per configured site; see services/index/celery_app.py).

Each run is bounded (`max_pages`) so it fits the task time limit; the cursor carries the next run on. A
Redis lock keeps two runs of one site from overlapping (a slow site, a beat tick during an operator's
pull), and deleted posts are looked for at most once per `wordpress_reconcile_seconds`, since that lists
every id of the site.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import structlog

from services.wordpress.config import WordPressSettings
from services.wordpress.http import BridgeHTTPError
from services.wordpress.run import run_pull
from shared.messaging import TASK_WORDPRESS_PULL

if TYPE_CHECKING:
    from services.index.taskbase import KabarTask

log = structlog.get_logger()

# Redis: release the lock only if it is still ours (a run that outlived its lock must not free the next one's).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def pull_site(task: KabarTask, url: str) -> dict[str, Any]:
    settings = WordPressSettings()
    site = next((s for s in settings.wordpress_sites if s.url == url), None)
    if site is None:
        return {"skipped": "not configured"}  # removed from the settings since this tick was sent
    redis = task.ctx.redis
    base = f"{settings.prefix}:wordpress:{site.key}"
    token = secrets.token_hex(8)
    if not redis.set(f"{base}:lock", token, nx=True, ex=int(task.settings.task_time_limit_seconds) + 5):
        return {"skipped": "running"}
    try:
        last = float(redis.get(f"{base}:reconciled") or 0)
        reconciling = time.time() - last >= settings.wordpress_reconcile_seconds
        tally = run_pull(
            settings,
            redis,
            site,
            per_page=settings.wordpress_per_page,
            reconciling=reconciling,
            max_pages=settings.wordpress_max_pages,
        )
        if reconciling:
            redis.set(f"{base}:reconciled", time.time())
    except (BridgeHTTPError, httpx.HTTPError) as exc:
        # The site or ingest is away: the next tick is the retry (the cursor never moved past anything
        # unsent), and a failed periodic run must not become a dead letter every minute.
        log.warning("wordpress.pull_failed", site=site.key, newsroom=site.newsroom, error=type(exc).__name__)
        return {"failed": type(exc).__name__}
    finally:
        redis.eval(_RELEASE, 1, f"{base}:lock", token)
    counts = {k: v for k, v in tally.__dict__.items() if k != "problems"}
    log.info("wordpress.pulled", site=site.key, newsroom=site.newsroom, **counts)
    return counts


def beat_schedule(settings: WordPressSettings) -> dict[str, dict[str, Any]]:
    """One beat entry per configured site. A tick not picked up before the next one is due expires unsent, so
    a worker that was away comes back to one pull per site, not a backlog of them."""
    return {
        f"wordpress-pull-{site.key}": {
            "task": TASK_WORDPRESS_PULL,
            "schedule": settings.wordpress_pull_seconds,
            "args": (site.url,),
            "options": {"expires": settings.wordpress_pull_seconds},
        }
        for site in settings.wordpress_sites
    }
