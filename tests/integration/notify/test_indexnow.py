"""IndexNow on the real stack: the key file, and pings of a local receiver on publish and on withdraw."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from harness.procs import wait_until
from tests.integration.notify.feedstack import SITE, FeedStack, Receiver, article, feed_stack

KEY = "kabar" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(receiver: Receiver) -> Iterator[FeedStack]:
    # A 2 s batch window: a burst of stories posted one by one lands in one window even on a busy machine.
    env = {
        "KABAR_INDEXNOW_KEY": KEY,
        "KABAR_INDEXNOW_ENDPOINT": receiver.url("/indexnow"),
        "KABAR_INDEXNOW_BATCH_SECONDS": "2",
    }
    with feed_stack(**env) as stack:
        yield stack


def pinged(receiver: Receiver, path: str, url: str) -> list[dict]:
    bodies = [json.loads(r.body) for r in receiver.seen("POST", path)]
    return [b for b in bodies if url in b.get("urlList", [])]


def test_key_file(stack: FeedStack) -> None:
    response = stack.publish.get(f"/{KEY}.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain") and response.text == KEY
    assert stack.publish.get(f"/{KEY}x.txt").status_code == 404


def test_publish_and_withdraw_are_pinged(stack: FeedStack, receiver: Receiver) -> None:
    external_id = f"indexnow-{uuid.uuid4().hex[:10]}"
    accepted = stack.ingest.post("/v1/articles", json=article("Berita untuk mesin pencari", external_id=external_id))
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["url"]
    assert url.startswith(SITE + "/")

    body = wait_until(lambda: pinged(receiver, "/indexnow", url), timeout=30, what="ping on publish")[0]
    assert body == {"host": "kabar.test", "key": KEY, "keyLocation": f"{SITE}/{KEY}.txt", "urlList": body["urlList"]}
    request = next(r for r in receiver.seen("POST", "/indexnow") if url.encode() in r.body)
    assert request.headers["content-type"] == "application/json; charset=utf-8"

    before = len(receiver.seen("POST", "/indexnow"))
    assert stack.ingest.post(f"/v1/articles/{external_id}/unpublish").status_code == 202
    wait_until(
        lambda: pinged(receiver, "/indexnow", url) and len(receiver.seen("POST", "/indexnow")) > before,
        timeout=30,
        what="ping on withdraw",
    )
    assert stack.publish.get(url.removeprefix(SITE)).status_code == 410


def test_a_burst_is_one_ping(stack: FeedStack, receiver: Receiver) -> None:
    before = len(receiver.seen("POST", "/indexnow"))
    urls = []
    for i in range(5):
        response = stack.ingest.post("/v1/articles", json=article(f"Berita beruntun nomor {i} {uuid.uuid4().hex[:6]}"))
        urls.append(response.json()["url"])
    wait_until(lambda: all(pinged(receiver, "/indexnow", u) for u in urls), timeout=30, what="every URL pinged")
    # Five stories in well under the batch window: fewer requests than stories (batched in Redis).
    assert len(receiver.seen("POST", "/indexnow")) - before < len(urls)


def test_no_key_no_key_file_and_no_pings(receiver: Receiver) -> None:
    """Without KABAR_INDEXNOW_KEY: the key file is a 404 and publishing a story pings nobody."""
    with feed_stack(KABAR_INDEXNOW_ENDPOINT=receiver.url("/unkeyed")) as stack:
        assert stack.publish.get(f"/{KEY}.txt").status_code == 404
        title = f"Berita tanpa kunci IndexNow {uuid.uuid4().hex[:6]}"
        assert stack.ingest.post("/v1/articles", json=article(title)).status_code == 202
        wait_until(lambda: title in stack.publish.get("/rss.xml").text, timeout=30, what="story in the feed")
        # Longer than the batch window and a ping's delay, measured from the story being visible.
        time.sleep(3)
        assert receiver.seen("POST", "/unkeyed") == []
        assert list(stack.redis.scan_iter(f"{stack.prefix}:indexnow:*")) == []
