"""A whole Kabar on its own prefix for WebSub and IndexNow tests, and a real local HTTP receiver.

Each module gets its own stack (not the session's workers): the notify workers here carry settings the
session's do not (private callbacks allowed, publish's internal URL, an IndexNow key and endpoint), and a
notify worker without them must never take these tests' tasks.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from redis import Redis

from harness.stack import private_stack
from services.ingest.auth import create_key

# The canonical site: topics, article URLs and the IndexNow host are under it; nothing needs to serve it.
SITE = "http://kabar.test"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A small threaded HTTP server recording every request; per-path answers are configurable."""

    # path -> "echo" (answer GETs with hub.challenge), "wrong" (answer with something else)
    echo: dict[str, str] = field(default_factory=dict)
    # path -> status for POSTs (default 200)
    post_status: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def seen(self, method: str, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    @contextlib.contextmanager
    def running(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> Request:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.command, parts.path, query, headers, body)
                with receiver.lock:
                    receiver.requests.append(request)
                return request

            def do_GET(self) -> None:
                request = self._record()
                answer = request.query.get("hub.challenge", "")
                if receiver.echo.get(request.path, "echo") == "wrong":
                    answer = "not-" + answer
                self._send(200, answer.encode())

            def do_POST(self) -> None:
                request = self._record()
                self._send(receiver.post_status.get(request.path, 200), b"ok")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class FeedStack:
    prefix: str
    ingest: httpx.Client
    publish: httpx.Client
    redis: Redis


@contextlib.contextmanager
def feed_stack(**overrides: str) -> Iterator[FeedStack]:
    """Publish, ingest, an index worker and a notify worker on a fresh prefix; everything removed after."""
    with private_stack("t", KABAR_SITE_URL=SITE, KABAR_WEBSUB_ALLOW_PRIVATE_CALLBACKS="true", **overrides) as own:
        _, publish_url = own.api("publish", "services.publish.app:create_app")
        _, ingest_url = own.api("ingest", "services.ingest.app:create_app")
        # The workers read feeds from publish itself (the canonical site is not served by anything here).
        worker_env = {**own.env, "KABAR_PUBLISH_INTERNAL_URL": publish_url}
        own.worker(("index",), name="notify-test-index", env=worker_env)
        own.worker(("related", "notify"), name="notify-test", env=worker_env)
        key = create_key(redis=own.redis, prefix=own.prefix, newsroom="channel9")
        with (
            httpx.Client(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest_client,
            httpx.Client(base_url=publish_url, timeout=30) as publish_client,
        ):
            yield FeedStack(prefix=own.prefix, ingest=ingest_client, publish=publish_client, redis=own.redis)


def article(title: str, *, section: str = "Internasional", external_id: str | None = None) -> dict[str, Any]:
    """A small valid article (native ingest body)."""
    return {
        "external_id": external_id or f"notify-{uuid.uuid4().hex[:10]}",
        "source": "Kabar Test",
        "title": title,
        "section": section,
        "language": "id",
        "body_paragraphs": [
            f"{title}. Paragraf pertama berita ini cukup panjang untuk diterima oleh redaksi.",
            "Paragraf kedua menambahkan keterangan dari para narasumber yang hadir di lokasi.",
        ],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
