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

import structlog

from services.wordpress.cli import run_pull
from services.wordpress.config import WordPressSettings

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
    finally:
        redis.eval(_RELEASE, 1, f"{base}:lock", token)
    log.info(
        "wordpress.pulled",
        site=site.key,
        newsroom=site.newsroom,
        **{k: v for k, v in tally.__dict__.items() if k != "problems"},
    )
    return {k: v for k, v in tally.__dict__.items() if k != "problems"}
