"""WebSub with Kabar as its own hub, on the real stack: a real local subscriber, real workers and publish.

Subscribe -> 202 -> the hub's verification GET -> the subscriber echoes the challenge -> active; a story
published in the topic's section reaches the subscriber as the feed itself, signed with its secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import httpx
import pytest

from harness.procs import wait_until
from shared.websub import SubscriptionStore, signature
from tests.integration.notify.feedstack import SITE, FeedStack, Receiver, article, feed_stack

ATOM = "{http://www.w3.org/2005/Atom}"
TOPIC = f"{SITE}/internasional/rss.xml"
SECRET = "rahasia-pelanggan-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def stack() -> Iterator[FeedStack]:
    with feed_stack() as stack:
        yield stack


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Receiver]:
    with Receiver(echo={"/liar": "wrong"}, post_status={"/gone": 410}).running() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def section_live(stack: FeedStack) -> str:
    """A first story, so the Internasional section (and its feed) exists."""
    title = f"Pembuka rubrik internasional {uuid.uuid4().hex[:6]}"
    assert stack.ingest.post("/v1/articles", json=article(title)).status_code == 202
    wait_until(lambda: title in feed(stack, "/internasional/rss.xml"), timeout=30, what="first story in the feed")
    return title


def feed(stack: FeedStack, path: str) -> str:
    response = stack.publish.get(path)
    return response.text if response.status_code == 200 else ""


def hub_request(stack: FeedStack, **fields: str) -> httpx.Response:
    return stack.publish.post("/websub", data={f"hub.{k}": v for k, v in fields.items()})


def store(stack: FeedStack) -> SubscriptionStore:
    return SubscriptionStore(stack.redis, stack.prefix)


def verified(receiver: Receiver, path: str, mode: str) -> list:
    return [r for r in receiver.seen("GET", path) if r.query.get("hub.mode") == mode]


def deliveries_with(receiver: Receiver, path: str, text: str) -> list:
    return [r for r in receiver.seen("POST", path) if text.encode() in r.body]


def test_feeds_advertise_the_hub_and_themselves(stack: FeedStack, section_live: str) -> None:
    for path, kind in (("/rss.xml", "rss"), ("/atom.xml", "atom"), ("/internasional/rss.xml", "rss")):
        response = stack.publish.get(path)
        assert response.status_code == 200
        links = response.headers["link"]
        assert f'<{SITE}/websub>; rel="hub"' in links and f'<{SITE}{path}>; rel="self"' in links
        root = ET.fromstring(response.content)
        parent = root.find("channel") if kind == "rss" else root
        rels = {el.get("rel"): el.get("href") for el in parent.findall(f"{ATOM}link")}
        assert rels["hub"] == f"{SITE}/websub" and rels["self"] == f"{SITE}{path}"


def test_subscribe_verify_distribute_and_unsubscribe(stack: FeedStack, subscriber: Receiver, section_live: str) -> None:
    good, witness, liar, gone = (subscriber.url(p) for p in ("/good", "/witness", "/liar", "/gone"))
    for callback, extra in ((good, {"secret": SECRET}), (witness, {}), (liar, {}), (gone, {})):
        response = hub_request(stack, mode="subscribe", topic=TOPIC, callback=callback, lease_seconds="7200", **extra)
        assert response.status_code == 202, response.text

    # The verification GET carries mode, topic, a challenge and the granted lease; echoed, it activates.
    check = wait_until(lambda: verified(subscriber, "/good", "subscribe"), timeout=30, what="verification GET")[0]
    assert check.query["hub.topic"] == TOPIC and check.query["hub.lease_seconds"] == "7200"
    assert len(check.query["hub.challenge"]) >= 16
    for path in ("/good", "/witness", "/gone"):
        wait_until(lambda p=path: store(stack).get(TOPIC, subscriber.url(p)), timeout=30, what=f"{path} active")
    # The liar answered 200 with the wrong body: asked, and never subscribed.
    wait_until(lambda: verified(subscriber, "/liar", "subscribe"), timeout=30, what="liar asked")
    assert store(stack).get(TOPIC, liar) is None

    title = f"Kabar baru untuk pelanggan WebSub {uuid.uuid4().hex[:8]}"
    assert stack.ingest.post("/v1/articles", json=article(title)).status_code == 202
    delivery = wait_until(lambda: deliveries_with(subscriber, "/good", title), timeout=45, what="distribution")[0]
    assert delivery.headers["content-type"].startswith("application/rss+xml")
    assert f'<{SITE}/websub>; rel="hub"' in delivery.headers["link"]
    assert f'<{TOPIC}>; rel="self"' in delivery.headers["link"]
    assert delivery.headers["x-hub-signature"] == signature(SECRET, delivery.body)
    assert ET.fromstring(delivery.body).find("channel/item/title") is not None
    unsigned = wait_until(lambda: deliveries_with(subscriber, "/witness", title), timeout=30, what="witness")[0]
    assert "x-hub-signature" not in unsigned.headers
    # A 410 from a subscriber ends its subscription; the liar never gets content.
    wait_until(lambda: subscriber.seen("POST", "/gone"), timeout=30, what="delivery to /gone")
    wait_until(lambda: store(stack).get(TOPIC, gone) is None, timeout=30, what="410 removes the subscription")
    assert subscriber.seen("POST", "/liar") == []

    # Unsubscribe (verified the same way), then the next story reaches the witness and not /good.
    assert hub_request(stack, mode="unsubscribe", topic=TOPIC, callback=good).status_code == 202
    wait_until(lambda: verified(subscriber, "/good", "unsubscribe"), timeout=30, what="unsubscribe verification")
    wait_until(lambda: store(stack).get(TOPIC, good) is None, timeout=30, what="unsubscribed")
    later = f"Kabar sesudah berhenti berlangganan {uuid.uuid4().hex[:8]}"
    assert stack.ingest.post("/v1/articles", json=article(later)).status_code == 202
    wait_until(lambda: deliveries_with(subscriber, "/witness", later), timeout=45, what="witness gets the later story")
    assert deliveries_with(subscriber, "/good", later) == []
    assert len(subscriber.seen("POST", "/gone")) == 1


BAD = [
    ({"mode": "subscribe", "topic": f"{SITE}/tidak-ada/rss.xml"}, "unknown section"),
    ({"mode": "subscribe", "topic": f"{SITE}/sitemap.xml"}, "not a feed"),
    ({"mode": "subscribe", "topic": "http://elsewhere.test/rss.xml"}, "another site"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "ftp://127.0.0.1/cb"}, "ftp callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "not a url"}, "no URL"),
    ({"topic": TOPIC}, "missing mode"),
    ({"mode": "publish", "topic": TOPIC}, "unknown mode"),
    ({"mode": "subscribe"}, "missing topic"),
    ({"mode": "subscribe", "topic": TOPIC, "secret": "x" * 200}, "secret too long"),
    ({"mode": "subscribe", "topic": TOPIC, "lease_seconds": "-5"}, "negative lease"),
]


def test_bad_requests_are_refused_and_store_nothing(stack: FeedStack, subscriber: Receiver, section_live: str) -> None:
    callbacks = []
    for i, (fields, why) in enumerate(BAD):
        fields = {"callback": subscriber.url(f"/bad-{i}"), **fields}
        callbacks.append(fields["callback"])
        response = hub_request(stack, **fields)
        assert 400 <= response.status_code < 500, why
        assert response.headers["content-type"].startswith("application/problem+json"), why
    # A good request after them is verified: had any bad one been queued, it would have been asked by now too.
    assert hub_request(stack, mode="subscribe", topic=TOPIC, callback=subscriber.url("/sentinel")).status_code == 202
    wait_until(lambda: store(stack).get(TOPIC, subscriber.url("/sentinel")), timeout=30, what="sentinel active")
    assert not [r for r in subscriber.requests if r.path.startswith("/bad-")]
    stored = {cb for key in stack.redis.scan_iter(f"{stack.prefix}:websub:subs:*") for cb in stack.redis.hkeys(key)}
    assert not stored & {c.encode() for c in callbacks}


def test_not_a_form(stack: FeedStack, subscriber: Receiver) -> None:
    response = stack.publish.post("/websub", json={"hub.mode": "subscribe", "hub.topic": TOPIC})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
