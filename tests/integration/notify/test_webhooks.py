"""Newsroom webhooks end to end: the real newsroom API, real index and notify workers, and a real subscriber.

The subscriber is a small threaded HTTP server in the test on 127.0.0.1 (so private targets are allowed for
these processes); each test listens on a path of its own and scripts its answers. The stack runs on a
prefix of its own, with few attempts and short backoff, so a dead letter takes seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from kombu import Connection
from redis import Redis
from standardwebhooks import Webhook, WebhookVerificationError

from harness.procs import wait_until
from harness.stack import private_stack
from services.index import deadletters
from services.ingest.app import create_app
from services.ingest.auth import create_key
from services.ingest.config import IngestSettings
from shared.errors import PROBLEM_JSON
from shared.messaging import TASK_WEBHOOK_DELIVER
from shared.webhooks import signed_headers
from tests.stack import EVERY_DEAD_LETTER

MAX_ATTEMPTS = 3


@dataclass
class Received:
    """One request the subscriber got, and what it answered."""

    headers: dict[str, str]
    body: str
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Hook:
    """One path on the subscriber: its script of answers and what reached it."""

    # Answers in order, then `default`; a callable is called (it may block) and returns the status.
    script: list[int | Callable[[], int]] = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)

    def answer(self) -> int:
        step = self.script.pop(0) if self.script else self.default
        return step() if callable(step) else step

    def delivered(self) -> list[dict[str, Any]]:
        """The events it accepted (2xx), in arrival order."""
        return [r.event for r in self.received if 200 <= r.status < 300]


class Subscriber:
    """A threaded HTTP server on loopback, one Hook per path."""

    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self.lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                with subscriber.lock:
                    hook = subscriber.hooks.get(self.path)
                status = hook.answer() if hook else 404
                if hook:
                    with subscriber.lock:
                        hook.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hook(self, **kwargs: Any) -> tuple[str, Hook]:
        """A fresh path and its hook; returns the full URL."""
        path = f"/hook/{uuid.uuid4().hex[:10]}"
        self.hooks[path] = Hook(**kwargs)
        return f"http://127.0.0.1:{self.server.server_port}{path}", self.hooks[path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    prefix: str
    ingest_url: str
    key: str
    other_key: str
    redis: Redis
    broker_url: str


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with private_stack(
        "w",
        KABAR_WEBHOOK_ALLOW_PRIVATE_URLS="true",
        KABAR_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        KABAR_WEBHOOK_RETRY_BASE_SECONDS="1",
        KABAR_WEBHOOK_RETRY_MAX_SECONDS="1",
        KABAR_WEBHOOK_TIMEOUT_SECONDS="10",
    ) as own:
        _, ingest_url = own.api("ingest-webhooks", "services.ingest.app:create_app")
        own.worker(("index",), name="wh-index")
        own.worker(("related", "notify"), name="wh-notify", concurrency=2)
        yield Stack(
            prefix=own.prefix,
            ingest_url=ingest_url,
            key=create_key(redis=own.redis, prefix=own.prefix, newsroom="hookroom"),
            other_key=create_key(redis=own.redis, prefix=own.prefix, newsroom="otherroom"),
            redis=own.redis,
            broker_url=own.settings.broker_url,
        )


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.close()


@pytest.fixture
def newsroom(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.ingest_url, headers={"X-API-Key": stack.key}, timeout=30) as client:
        yield client


@pytest.fixture
def other(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.ingest_url, headers={"X-API-Key": stack.other_key}, timeout=30) as client:
        yield client


def subscribe(newsroom: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    answer = newsroom.post("/v1/webhooks", json={"url": url, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def article(external_id: str, *, version: int = 1, title: str = "Banjir rendam Jakarta") -> dict[str, Any]:
    return {
        "external_id": external_id,
        "version": version,
        "title": title,
        "body": "<p>Hujan deras sejak dini hari membuat Ciliwung meluap.</p>",
        "section": "Metro",
    }


def write(newsroom: httpx.Client, body: dict[str, Any]) -> None:
    answer = newsroom.post("/v1/articles", json=body)
    assert answer.status_code == 202, answer.text


def wait_state(newsroom: httpx.Client, external_id: str, status: str, version: int = 1) -> dict[str, Any]:
    def applied() -> dict[str, Any] | None:
        state = newsroom.get(f"/v1/articles/{external_id}").json()
        return state if state.get("status") == status and state.get("version") == version else None

    return wait_until(applied, timeout=30, what=f"{external_id} {status} v{version}")  # type: ignore[no-any-return]


def wait_delivered(hook: Hook, count: int, timeout: float = 40) -> list[dict[str, Any]]:
    return wait_until(  # type: ignore[no-any-return]
        lambda: hook.delivered() if len(hook.delivered()) >= count else None,
        timeout=timeout,
        what=f"{count} deliveries",
    )


def deliveries(newsroom: httpx.Client, sub_id: str) -> list[dict[str, Any]]:
    answer = newsroom.get(f"/v1/webhooks/{sub_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def test_a_delivery_is_signed_with_the_subscription_secret(subscriber: Subscriber, newsroom: httpx.Client) -> None:
    url, hook = subscriber.hook()
    created = subscribe(newsroom, url, description="CMS mirror")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["events"] == ["published", "updated", "withdrawn", "deleted"]
    # The secret is shown once: never in a listing or a read.
    listed = newsroom.get("/v1/webhooks").json()["items"]
    assert [s["id"] for s in listed if s["id"] == created["id"]] and all("secret" not in s for s in listed)
    assert "secret" not in newsroom.get(f"/v1/webhooks/{created['id']}").json()

    external_id = f"wh-sig-{uuid.uuid4().hex[:8]}"
    write(newsroom, article(external_id))
    state = wait_state(newsroom, external_id, "published")
    [received] = [r for r in wait_until(lambda: hook.received, what="a delivery")]
    event = Webhook(secret).verify(received.body, received.headers)
    assert event["type"] == "article.published" and event["kind"] == "published"
    assert event["uid"] == state["uid"] and event["external_id"] == external_id and event["newsroom"] == "hookroom"
    assert event["schema_version"] == 1 and event["url"].endswith(event["path"])
    assert received.headers["webhook-id"] == event["event_id"] == f"{event['uid']}-{event['revision']}-published"
    assert received.headers["content-type"] == "application/json"

    # The signature is the Standard Webhooks one, computed here by hand.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.{received.body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert received.headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 120

    # A tampered body, another secret, or a replay with an old timestamp (validly signed then) all fail.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(received.body.replace("Banjir", "Banjar"), received.headers)
    rotated = newsroom.post(f"/v1/webhooks/{created['id']}/rotate-secret").json()["secret"]
    assert rotated != secret
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated).verify(received.body, received.headers)
    old = signed_headers(
        secret=secret, message_id=received.headers["webhook-id"], body=received.body, timestamp=int(time.time()) - 3600
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(received.body, old)

    [entry] = deliveries(newsroom, created["id"])
    assert entry["outcome"] == "delivered" and entry["status_code"] == 200 and entry["attempt"] == 1
    assert entry["event_id"] == event["event_id"] and entry["external_id"] == external_id
    assert entry["kind"] == "published" and entry["duration_ms"] >= 0


def test_an_article_s_events_arrive_in_revision_order_after_a_500(
    subscriber: Subscriber, newsroom: httpx.Client
) -> None:
    external_id = f"wh-order-{uuid.uuid4().hex[:8]}"
    applied = threading.Event()

    def fail_once_everything_is_applied() -> int:
        # The first delivery (the publish) is held until the update and the withdrawal are applied and
        # their deliveries queued, then refused: they must wait behind its retry, not overtake it.
        applied.wait(timeout=8)
        return 500

    url, hook = subscriber.hook(script=[fail_once_everything_is_applied])
    created = subscribe(newsroom, url)
    write(newsroom, article(external_id))
    wait_state(newsroom, external_id, "published")
    write(newsroom, article(external_id, version=2, title="Banjir rendam Jakarta, ribuan mengungsi"))
    wait_state(newsroom, external_id, "published", version=2)
    assert newsroom.post(f"/v1/articles/{external_id}/unpublish").status_code == 202
    wait_state(newsroom, external_id, "withdrawn", version=2)
    applied.set()

    events = wait_delivered(hook, 3)
    assert [e["kind"] for e in events] == ["published", "updated", "withdrawn"]
    # Every request, refused or not, came in revision order: nothing overtook the refused publish.
    revisions = [r.event["revision"] for r in hook.received]
    assert [r.status for r in hook.received] == [500, 200, 200, 200]
    assert revisions == sorted(revisions) and revisions[0] == revisions[1]
    withdrawn = events[2]
    assert withdrawn["type"] == "article.withdrawn" and withdrawn["external_id"] == external_id

    log = deliveries(newsroom, created["id"])
    assert [(e["kind"], e["outcome"]) for e in log] == [
        ("withdrawn", "delivered"),
        ("updated", "delivered"),
        ("published", "delivered"),
        ("published", "retrying"),
    ]
    assert log[-1]["status_code"] == 500 and log[-1]["attempt"] == 1 and log[-2]["attempt"] == 2


def test_a_dead_letter_is_logged_lets_later_events_through_and_can_be_redelivered(
    subscriber: Subscriber, newsroom: httpx.Client, stack: Stack
) -> None:
    url, hook = subscriber.hook(default=500)
    created = subscribe(newsroom, url)
    sub_id = created["id"]
    external_id = f"wh-dead-{uuid.uuid4().hex[:8]}"
    write(newsroom, article(external_id))
    wait_state(newsroom, external_id, "published")

    def dead() -> list[dict[str, Any]] | None:
        log = deliveries(newsroom, sub_id)
        return log if log and log[0]["outcome"] == "dead" else None

    log = wait_until(dead, timeout=40, what="the publish dead-lettered")
    assert [(e["outcome"], e["attempt"], e["status_code"]) for e in log] == [
        ("dead", 3, 500),
        ("retrying", 2, 500),
        ("retrying", 1, 500),
    ]
    published_id = log[0]["event_id"]
    assert len(hook.received) == MAX_ATTEMPTS

    # Its message went to the dead-letter queue, where an operator sees it.
    def in_dead_letters() -> list[deadletters.DeadLetter]:
        with Connection(stack.broker_url) as conn:
            letters = deadletters.list_dead(connection=conn, prefix=stack.prefix, limit=EVERY_DEAD_LETTER)
        return [d for d in letters if d.task == TASK_WEBHOOK_DELIVER and published_id in d.body_preview]

    wait_until(in_dead_letters, timeout=20, what="the dead letter in its queue")

    # The subscriber is fixed: the article's next event is not held behind the dead one.
    hook.default = 200
    write(newsroom, article(external_id, version=2, title="Banjir surut"))
    [updated] = wait_delivered(hook, 1)
    assert updated["kind"] == "updated"

    # Redelivered through the API, the dead publish arrives, with fresh attempts.
    answer = newsroom.post(f"/v1/webhooks/{sub_id}/deliveries/{published_id}/redeliver")
    assert answer.status_code == 202, answer.text
    events = wait_delivered(hook, 2)
    assert events[1]["event_id"] == published_id and events[1]["kind"] == "published"
    Webhook(created["secret"]).verify(hook.received[-1].body, hook.received[-1].headers)
    latest = deliveries(newsroom, sub_id)[0]
    assert latest["event_id"] == published_id and latest["outcome"] == "delivered" and latest["attempt"] == 1

    # Replaying the dead letter from the queue (kabar dead-letters replay) finds it already delivered.
    with Connection(stack.broker_url) as conn:
        replayed = deadletters.replay(connection=conn, prefix=stack.prefix, limit=EVERY_DEAD_LETTER)
    assert any(d.task == TASK_WEBHOOK_DELIVER for d in replayed)
    time.sleep(2)
    assert len(hook.delivered()) == 2

    # An unknown event id is a 404 problem.
    missing = newsroom.post(f"/v1/webhooks/{sub_id}/deliveries/nope-1-published/redeliver")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM_JSON


def test_a_dead_letter_replayed_from_the_queue_is_delivered(
    subscriber: Subscriber, newsroom: httpx.Client, stack: Stack
) -> None:
    url, hook = subscriber.hook(default=500)
    sub_id = subscribe(newsroom, url, events=["published"])["id"]
    external_id = f"wh-replay-{uuid.uuid4().hex[:8]}"
    write(newsroom, article(external_id))
    wait_until(
        lambda: (log := deliveries(newsroom, sub_id)) and log[0]["outcome"] == "dead",
        timeout=40,
        what="dead-lettered",
    )
    hook.default = 200

    def replay_ours() -> bool:
        # Earlier tests' dead letters may sit in front; replay until ours has gone out.
        with Connection(stack.broker_url) as conn:
            deadletters.replay(connection=conn, prefix=stack.prefix)
        return bool(hook.delivered())

    wait_until(replay_ours, timeout=30, interval=1, what="the replayed dead letter delivered")
    [event] = hook.delivered()
    assert event["external_id"] == external_id and event["kind"] == "published"
    assert deliveries(newsroom, sub_id)[0]["outcome"] == "delivered"


def test_another_newsroom_can_neither_see_nor_touch_a_subscription(
    subscriber: Subscriber, newsroom: httpx.Client, other: httpx.Client
) -> None:
    url, hook = subscriber.hook()
    sub_id = subscribe(newsroom, url)["id"]
    assert all(s["id"] != sub_id for s in other.get("/v1/webhooks").json()["items"])
    for answer in (
        other.get(f"/v1/webhooks/{sub_id}"),
        other.delete(f"/v1/webhooks/{sub_id}"),
        other.get(f"/v1/webhooks/{sub_id}/deliveries"),
        other.post(f"/v1/webhooks/{sub_id}/rotate-secret"),
        other.post(f"/v1/webhooks/{sub_id}/deliveries/x-1-published/redeliver"),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON
    assert newsroom.get(f"/v1/webhooks/{sub_id}").status_code == 200

    # Nor does its news reach this newsroom's subscriber; this newsroom's does.
    other_id = f"wh-other-{uuid.uuid4().hex[:8]}"
    write(other, article(other_id))
    wait_state(other, other_id, "published")
    own_id = f"wh-own-{uuid.uuid4().hex[:8]}"
    write(newsroom, article(own_id))
    [event] = wait_delivered(hook, 1)
    assert event["external_id"] == own_id
    time.sleep(1)
    assert [e["external_id"] for e in hook.delivered()] == [own_id]

    # The owner deletes it: gone for the owner too, and no more deliveries.
    assert newsroom.delete(f"/v1/webhooks/{sub_id}").status_code == 204
    assert newsroom.get(f"/v1/webhooks/{sub_id}").status_code == 404
    assert newsroom.post(f"/v1/articles/{own_id}/unpublish").status_code == 202
    wait_state(newsroom, own_id, "withdrawn")
    time.sleep(1.5)
    assert len(hook.received) == 1


def test_the_events_filter_is_honoured(subscriber: Subscriber, newsroom: httpx.Client) -> None:
    only_url, only = subscriber.hook()
    all_url, everything = subscriber.hook()
    assert subscribe(newsroom, only_url, events=["withdrawn", "withdrawn"])["events"] == ["withdrawn"]
    subscribe(newsroom, all_url)
    external_id = f"wh-filter-{uuid.uuid4().hex[:8]}"
    write(newsroom, article(external_id))
    wait_state(newsroom, external_id, "published")
    assert newsroom.post(f"/v1/articles/{external_id}/unpublish").status_code == 202
    # Both events reached the subscription that wants everything; by then the filtered one had its turn.
    assert [e["kind"] for e in wait_delivered(everything, 2)] == ["published", "withdrawn"]
    [event] = wait_delivered(only, 1)
    time.sleep(1)
    assert event["kind"] == "withdrawn" and [e["kind"] for e in only.delivered()] == ["withdrawn"]
    assert len(only.received) == 1


BAD_URLS = [
    "ftp://example.org/hook",
    "file:///etc/passwd",
    "http://user:secret@example.org/hook",
    "https://example.org/" + "a" * 2000,
    "http:///nohost",
    "http://exa mple.org/",
    "http://[::1/",
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
]


@pytest.fixture
def strict_newsroom(stack: Stack) -> Iterator[TestClient]:
    """The newsroom API as deployed by default (private targets refused), in process on the same services."""
    settings = IngestSettings(prefix=stack.prefix, webhook_allow_private_urls=False, webhook_max_per_newsroom=2)
    key = create_key(redis=stack.redis, prefix=stack.prefix, newsroom=f"strict-{uuid.uuid4().hex[:6]}")
    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        yield client


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_or_private_url_is_a_422_problem_and_changes_nothing(strict_newsroom: TestClient, url: str) -> None:
    answer = strict_newsroom.post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["status"] == 422 and any(e["pointer"] == "/url" for e in problem["errors"])
    assert strict_newsroom.get("/v1/webhooks").json()["items"] == []


def test_bad_fields_and_the_cap(strict_newsroom: TestClient) -> None:
    for body in (
        {"url": "https://93.184.215.14/h", "events": ["created"]},
        {"url": "https://93.184.215.14/h", "events": []},
        {},
    ):
        answer = strict_newsroom.post("/v1/webhooks", json=body)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM_JSON
    # A public address is accepted; the newsroom's cap (2 here) is a 409 problem.
    for _ in range(2):
        assert strict_newsroom.post("/v1/webhooks", json={"url": "https://93.184.215.14/h"}).status_code == 201
    full = strict_newsroom.post("/v1/webhooks", json={"url": "https://93.184.215.14/h"})
    assert full.status_code == 409 and full.headers["content-type"] == PROBLEM_JSON
    assert len(strict_newsroom.get("/v1/webhooks").json()["items"]) == 2
