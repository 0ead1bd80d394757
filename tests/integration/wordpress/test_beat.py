"""The periodic pull: Celery beat sends one pull per configured site, a notify worker runs it, posts arrive.

A private stack (its own prefix, ingest, workers and beat), since the session's workers are not configured
with any WordPress site.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator

import httpx
import pytest

from harness import wordpress
from harness.procs import Proc, wait_until
from harness.stack import private_stack
from services.wordpress.mapping import external_id
from shared.apikeys import create_key

pytestmark = pytest.mark.skipif(os.environ.get("KABAR_WORDPRESS") == "off", reason="KABAR_WORDPRESS=off")


@pytest.fixture
def seeded() -> Iterator[wordpress.Seeded]:
    with wordpress.client(wordpress.site()) as api:
        made = wordpress.seed(api, run=uuid.uuid4().hex[:8], count=3)
        yield made
        wordpress.clear(api, made)


def test_beat_pulls_every_configured_site_on_its_own(seeded: wordpress.Seeded) -> None:
    wp = wordpress.site()
    newsroom = f"beat{uuid.uuid4().hex[:6]}"
    sites = [{"url": wp.url, "newsroom": newsroom, "username": wp.user, "app_password": wp.app_password}]
    with private_stack("b") as stack:
        _, ingest_url = stack.api("ingest", "services.ingest.app:create_app")
        env = {
            **stack.env,
            "KABAR_WORDPRESS_INGEST_URL": ingest_url,
            "KABAR_WORDPRESS_SITES": json.dumps(sites),
            "KABAR_WORDPRESS_PULL_SECONDS": "5",
        }
        stack.worker(("index", "notify"), name="wp-worker", env=env)
        schedule = os.path.join(tempfile.mkdtemp(prefix="kabar-beat-"), "schedule")
        beat = [sys.executable, "-m", "celery", "-A", "services.index.worker", "beat", "-l", "INFO", "-s", schedule]
        stack.procs.append(Proc("beat", beat, env).start())
        key = create_key(redis=stack.redis, prefix=stack.prefix, newsroom=newsroom)
        with httpx.Client(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest:

            def all_published() -> bool:
                states = [ingest.get(f"/v1/articles/{external_id(p.id)}") for p in seeded]
                return all(r.status_code == 200 and r.json()["status"] == "published" for r in states)

            wait_until(all_published, timeout=90, interval=1.0, what="the periodic pull's posts in Kabar")
        # Each run's key is revoked when it ends: between runs only the test's own key is left.
        keys = f"{stack.prefix}:newsroom:{newsroom}:keys"
        wait_until(lambda: stack.redis.scard(keys) == 1, timeout=30, interval=0.2, what="the run's key revoked")
