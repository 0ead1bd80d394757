"""The WordPress bridge against a real WordPress (scripts/services.sh) and the real Kabar stack.

Pull, the plugin and the WXR import all go through Kabar's public ingest API; what they produce is read
back from ingest (the newsroom's view) and Elasticsearch (what readers get).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from pydantic import SecretStr
from redis import Redis

from harness import wordpress
from harness.procs import wait_until
from services.wordpress.config import WordPressSettings
from services.wordpress.http import BridgeHTTPError
from services.wordpress.importer import import_export
from services.wordpress.mapping import external_id
from services.wordpress.pull import Site, SiteState
from services.wordpress.run import run_pull
from services.wordpress.sink import IngestSink
from shared.apikeys import create_key
from shared.es import IndexNames
from shared.models import article_uid
from shared.text import strip_tags

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "deploy" / "wordpress" / "kabar-bridge.php"

pytestmark = pytest.mark.skipif(os.environ.get("KABAR_WORDPRESS") == "off", reason="KABAR_WORDPRESS=off")


@pytest.fixture(scope="module")
def wp() -> wordpress.Site:
    return wordpress.site()


@pytest.fixture(scope="module")
def api(wp: wordpress.Site) -> Iterator[httpx.Client]:
    with wordpress.client(wp) as client:
        yield client


@pytest.fixture
def seeded(api: httpx.Client) -> Iterator[wordpress.Seeded]:
    made = wordpress.seed(api, run=uuid.uuid4().hex[:8], count=6)
    yield made
    wordpress.clear(api, made)


@pytest.fixture
def newsroom() -> str:
    return f"wp{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bridge(prefix: str, ingest_url: str) -> WordPressSettings:
    return WordPressSettings(prefix=prefix, wordpress_ingest_url=ingest_url)


def _site(wp: wordpress.Site, newsroom: str) -> Site:
    return Site(url=wp.url, newsroom=newsroom, username=wp.user, app_password=SecretStr(wp.app_password))


def _ingest(ingest_url: str, redis: Redis, prefix: str, newsroom: str) -> httpx.Client:
    key = create_key(redis=redis, prefix=prefix, newsroom=newsroom)
    return httpx.Client(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _state(ingest: httpx.Client, post_id: int) -> dict[str, Any]:
    response = ingest.get(f"/v1/articles/{external_id(post_id)}")
    return response.json() if response.status_code == 200 else {"status": response.status_code}


def _wait_status(ingest: httpx.Client, post_id: int, status: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_until(
        lambda: (s := _state(ingest, post_id)).get("status") == status and s,
        timeout=timeout,
        what=f"post {post_id} {status} in Kabar",
    )


def _doc(es: Elasticsearch, names: IndexNames, newsroom: str, post_id: int) -> dict[str, Any]:
    found = es.get(index=names.articles, id=article_uid(newsroom, external_id(post_id)), realtime=True)
    return found["_source"]


def _words(html: str) -> list[str]:
    """Body text without markup or typography: WordPress's texturize turns quotes and dashes curly on render."""
    folded = strip_tags(html).translate(str.maketrans("“”‘’–—…", "\"\"''--.", ""))
    return folded.split()


def test_pull_creates_updates_unpublishes_and_deletes_in_step_with_wordpress(
    wp: wordpress.Site,
    api: httpx.Client,
    seeded: wordpress.Seeded,
    newsroom: str,
    bridge: WordPressSettings,
    redis: Redis,
    prefix: str,
    ingest_url: str,
    es: Elasticsearch,
    names: IndexNames,
    publish_url: str,
    worker: object,
) -> None:
    site = _site(wp, newsroom)
    first = run_pull(bridge, redis, site, per_page=4, reconciling=True)
    assert first.rejected == 0, first.problems
    assert first.accepted >= len(seeded.posts)
    with _ingest(ingest_url, redis, prefix, newsroom) as ingest:
        for post in seeded:
            state = _wait_status(ingest, post.id, "published")
            assert state["title"] == post.title
        doc = _doc(es, names, newsroom, seeded.posts[1].id)
        assert doc["section"] == seeded.posts[1].section
        assert doc["canonical_url"] == seeded.posts[1].link
        assert doc["images"] and doc["images"][0]["url"].endswith(".png")
        # WordPress's sizes of the featured image, smallest first, for the page's srcset.
        widths = [r["width"] for r in doc["images"][0]["renditions"]]
        assert widths == sorted(widths) and widths[0] == 150 and widths[-1] == 1200, widths
        page = httpx.get(publish_url + "/" + doc["path"].lstrip("/"), timeout=30)
        assert page.status_code == 200 and 'srcset="' in page.text and " 150w, " in page.text
        assert doc["authors"] == [seeded.posts[1].author]
        # Its "Baca juga" block links the post before it by permalink: pinned first, resolved by URL.
        linked = article_uid(newsroom, external_id(seeded.posts[0].id))
        related_uid = article_uid(newsroom, external_id(seeded.posts[1].id))
        wait_until(
            lambda: (
                (r := es.options(ignore_status=404).get(index=names.related, id=related_uid)).get("found")
                and r["_source"]["items"][:1] == [{**r["_source"]["items"][0], "uid": linked, "kind": "editor"}]
            ),
            timeout=30,
            what="the editor's link pinned",
        )

        # Nothing changed in WordPress: a second pull sends nothing new.
        again = run_pull(bridge, redis, site, per_page=4, reconciling=True)
        assert (again.accepted, again.rejected, again.unpublished, again.deleted) == (0, 0, 0, 0)

        edited, trashed, drafted, deleted = seeded.posts[:4]
        before = _state(ingest, edited.id)["version"]
        time.sleep(1.1)  # WordPress keeps modification times to the second
        api.post(f"wp/v2/posts/{edited.id}", json={"title": "Judul yang diperbarui"}).raise_for_status()
        api.delete(f"wp/v2/posts/{trashed.id}").raise_for_status()  # to the trash
        api.post(f"wp/v2/posts/{drafted.id}", json={"status": "draft"}).raise_for_status()
        api.delete(f"wp/v2/posts/{deleted.id}", params={"force": "true"}).raise_for_status()

        step = run_pull(bridge, redis, site, per_page=4, reconciling=True)
        assert step.rejected == 0, step.problems
        assert (step.accepted, step.unpublished, step.deleted) == (1, 2, 1)
        updated = _wait_status(ingest, edited.id, "published")
        assert updated["title"] == "Judul yang diperbarui" and updated["version"] > before
        _wait_status(ingest, trashed.id, "withdrawn")
        _wait_status(ingest, drafted.id, "withdrawn")
        _wait_status(ingest, deleted.id, "deleted")
        for post in seeded.posts[4:]:
            assert _state(ingest, post.id)["status"] == "published"

        # Republished in WordPress: back for readers.
        api.post(f"wp/v2/posts/{drafted.id}", json={"status": "publish"}).raise_for_status()
        assert run_pull(bridge, redis, site, per_page=4, reconciling=False).accepted == 1
        _wait_status(ingest, drafted.id, "published")


def test_an_interrupted_pull_resumes_where_kabar_state_ends(
    wp: wordpress.Site,
    seeded: wordpress.Seeded,
    newsroom: str,
    bridge: WordPressSettings,
    redis: Redis,
    prefix: str,
    ingest_url: str,
    stack_env: dict[str, str],
    worker: object,
) -> None:
    site = _site(wp, newsroom)
    state = SiteState(redis, prefix, site)
    password = Path(os.environ.get("TMPDIR", "/tmp")) / f"kabar-wp-{newsroom}"
    password.write_text(wp.app_password)
    env = {**os.environ, **stack_env, "KABAR_WORDPRESS_INGEST_URL": ingest_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "services.cli", "wordpress", "pull", "--site", wp.url, "--newsroom", newsroom]
    command += ["--username", wp.user, "--app-password-file", str(password), "--per-page", "1", "--no-reconcile"]
    try:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Killed hard once a page or two is in Kabar: the cursor has moved, the run is not over.
        wait_until(lambda: state.cursor() is not None, timeout=60, what="the first page accepted")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        cursor = state.cursor()
        sent_before = len(state.published_ids() & {p.id for p in seeded})
        assert sent_before < len(seeded.posts), "the pull ended before it was killed: nothing to resume"

        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert state.cursor() is not None and cursor is not None and state.cursor() >= cursor
        assert {p.id for p in seeded} <= state.published_ids()
    finally:
        password.unlink(missing_ok=True)
    with _ingest(ingest_url, redis, prefix, newsroom) as ingest:
        for post in seeded:
            assert _wait_status(ingest, post.id, "published")["revision"] >= 1


def test_wxr_import_equals_pull_for_the_same_site_and_rerunning_it_changes_nothing(
    wp: wordpress.Site,
    seeded: wordpress.Seeded,
    bridge: WordPressSettings,
    redis: Redis,
    prefix: str,
    ingest_url: str,
    es: Elasticsearch,
    names: IndexNames,
    tmp_path: Path,
    worker: object,
) -> None:
    imported_room, pulled_room = f"imp{uuid.uuid4().hex[:8]}", f"pul{uuid.uuid4().hex[:8]}"
    export = tmp_path / "export.xml"
    export.write_bytes(wordpress.export_wxr("all"))
    with _ingest(ingest_url, redis, prefix, imported_room) as ingest:
        sink = IngestSink(ingest)
        first = import_export(export, sink=sink)
        assert first.rejected == 0, first.problems
        assert first.accepted >= len(seeded.posts)
        for post in seeded:
            _wait_status(ingest, post.id, "published")
        rerun = import_export(export, sink=sink)
        assert (rerun.accepted, rerun.rejected) == (0, 0)
        assert rerun.unchanged == first.accepted
    run_pull(bridge, redis, _site(wp, pulled_room), per_page=10, reconciling=False)
    with _ingest(ingest_url, redis, prefix, pulled_room) as ingest:
        for post in seeded:
            _wait_status(ingest, post.id, "published")
    for post in seeded:
        imported = _doc(es, names, imported_room, post.id)
        pulled = _doc(es, names, pulled_room, post.id)
        for field in ("title", "section", "tags", "authors", "published_at", "canonical_url", "dek"):
            assert imported.get(field) == pulled.get(field), (post.id, field)
        # The featured image with all its sizes; the caption as typed or as the theme renders it (curly quotes).
        for mine, theirs in zip(imported["images"], pulled["images"], strict=True):
            assert (mine["url"], mine["renditions"]) == (theirs["url"], theirs["renditions"]), post.id
            assert _words(mine["caption"]) == _words(theirs["caption"]), post.id
        assert _words(imported["body_html"]) == _words(pulled["body_html"]), post.id


CONTENT = ROOT / ".local" / "wordpress" / "site" / "wp-content"
# The plugin's settings as wp-config.php would define them, read from a JSON file at each request: a PHP file
# rewritten within opcache's revalidation interval (2 s) would still be served from its cache.
CONFIG = CONTENT / "mu-plugins" / "kabar-config.json"
CONFIG_PHP = """<?php
$kabar = json_decode( (string) file_get_contents( __DIR__ . '/kabar-config.json' ), true );
define( 'KABAR_INGEST_URL', $kabar['url'] );
define( 'KABAR_API_KEY', $kabar['key'] );
define( 'KABAR_RETRY_SECONDS', 1 );
"""


def _configure(url: str, key: str) -> None:
    CONFIG.write_text(json.dumps({"url": url, "key": key}))


@pytest.fixture
def plugin(wp: wordpress.Site, api: httpx.Client, redis: Redis, prefix: str, ingest_url: str) -> Iterator[str]:
    """The plugin installed and active, configured for a fresh newsroom; yields the newsroom."""
    newsroom = f"plg{uuid.uuid4().hex[:8]}"
    key = create_key(redis=redis, prefix=prefix, newsroom=newsroom)
    plugin_dir = CONTENT / "plugins" / "kabar-bridge"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(PLUGIN, plugin_dir / "kabar-bridge.php")
    CONFIG.parent.mkdir(exist_ok=True)
    _configure(ingest_url, key)
    config_php = CONFIG.parent / "kabar-config.php"
    config_php.write_text(CONFIG_PHP)
    for path in (plugin_dir, plugin_dir / "kabar-bridge.php", CONFIG.parent, CONFIG, config_php):
        shutil.chown(path, user="kabar-wp", group="kabar-wp")
    api.post("wp/v2/plugins/kabar-bridge/kabar-bridge", json={"status": "active"}).raise_for_status()
    yield newsroom
    api.post("wp/v2/plugins/kabar-bridge/kabar-bridge", json={"status": "inactive"})
    config_php.unlink(missing_ok=True)
    CONFIG.unlink(missing_ok=True)


def test_the_plugin_pushes_on_publish_update_and_trash(
    api: httpx.Client, plugin: str, redis: Redis, prefix: str, ingest_url: str, worker: object
) -> None:
    post = api.post(
        "wp/v2/posts", json={"title": "Dari plugin", "content": "<p>Isi berita dari plugin.</p>", "status": "publish"}
    ).json()
    try:
        with _ingest(ingest_url, redis, prefix, plugin) as ingest:
            state = _wait_status(ingest, post["id"], "published")
            assert state["title"] == "Dari plugin"
            meta = api.get(f"wp/v2/posts/{post['id']}", params={"context": "edit"}).json()["meta"]
            assert meta["_kabar_last_result"]["state"] == "ok"

            time.sleep(1.1)
            api.post(f"wp/v2/posts/{post['id']}", json={"title": "Dari plugin, diperbarui"}).raise_for_status()
            updated = _wait_status(ingest, post["id"], "published")
            assert updated["title"] == "Dari plugin, diperbarui" and updated["version"] > state["version"]

            api.delete(f"wp/v2/posts/{post['id']}").raise_for_status()
            _wait_status(ingest, post["id"], "withdrawn")
    finally:
        api.delete(f"wp/v2/posts/{post['id']}", params={"force": "true"})


def test_a_wrong_application_password_stops_the_pull_before_anything_is_taken_down(
    wp: wordpress.Site, newsroom: str, bridge: WordPressSettings, redis: Redis, prefix: str
) -> None:
    # WordPress answers public listings anonymously even with bad credentials: published posts only, so every
    # draft would look deleted. The bridge asks who it is first.
    site = Site(url=wp.url, newsroom=newsroom, username=wp.user, app_password=SecretStr("xxxx xxxx xxxx xxxx"))
    with pytest.raises(BridgeHTTPError, match="application password"):
        run_pull(bridge, redis, site, per_page=4, reconciling=True)
    assert SiteState(redis, prefix, site).cursor() is None


def test_the_plugin_retries_from_wp_cron_when_kabar_is_away(
    wp: wordpress.Site, api: httpx.Client, plugin: str, redis: Redis, prefix: str, ingest_url: str, worker: object
) -> None:
    working = json.loads(CONFIG.read_text())
    _configure("http://127.0.0.1:9", working["key"])  # nothing listens there
    post = api.post("wp/v2/posts", json={"title": "Saat Kabar libur", "content": "<p>Isi.</p>", "status": "publish"})
    post_id = post.json()["id"]
    try:
        meta = api.get(f"wp/v2/posts/{post_id}", params={"context": "edit"}).json()["meta"]["_kabar_last_result"]
        assert (meta["state"], meta["code"]) == ("retrying", 0)
        _configure(working["url"], working["key"])
        with _ingest(ingest_url, redis, prefix, plugin) as ingest:
            assert _state(ingest, post_id)["status"] == 404

            def retried() -> bool:
                # WP-Cron runs due events when wp-cron.php is requested (a page view does that on a live site).
                httpx.get(f"{wp.url}/wp-cron.php", timeout=30)
                return _state(ingest, post_id).get("status") == "published"

            wait_until(retried, timeout=60, interval=1.0, what="the retry from WP-Cron")
        meta = api.get(f"wp/v2/posts/{post_id}", params={"context": "edit"}).json()["meta"]["_kabar_last_result"]
        assert meta["state"] == "ok"
    finally:
        _configure(working["url"], working["key"])
        api.delete(f"wp/v2/posts/{post_id}", params={"force": "true"})
