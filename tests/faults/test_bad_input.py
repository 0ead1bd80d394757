"""Hostile bodies at volume: each gets a clear 4xx problem, ingest stays up and its memory stays bounded."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import FaultStack
from tests.stack import Proc, wait_until

RSS_LIMIT_MB = 500
JSON = {"Content-Type": "application/json"}


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class PeakRss:
    """Samples a process's RSS every 20 ms in the background and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _article(**fields: object) -> dict[str, object]:
    return {"external_id": f"bad-{uuid.uuid4().hex[:12]}", "title": "Judul", "body": "<p>Isi.</p>", **fields}


def _nested(depth: int) -> str:
    return "<div>" * depth + "teks" + "</div>" * depth


def _data_url_image(megabytes: int) -> str:
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (megabytes * 1024 * 1024 * 3 // 4)).decode()
    return f'<p>Foto:</p><img src="data:image/png;base64,{data}">'


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A streamed body with no Content-Length."""
    for _ in range(total // size):
        yield b" " * size


Request = Callable[[httpx.Client], httpx.Response]

HOSTILE: dict[str, tuple[Request, set[int]]] = {
    "over the size limit (Content-Length)": (
        lambda c: c.post("/v1/articles", content=b"{" + b" " * 6_000_000 + b"}", headers=JSON),
        {413},
    ),
    "over the size limit (streamed, chunked)": (
        lambda c: c.post("/v1/articles", content=_chunks(8_000_000), headers=JSON),
        {413},
    ),
    "bulk over the size limit": (
        lambda c: c.post("/v1/articles:bulk", json=[_article(body="x" * 400_000) for _ in range(15)]),
        {413},
    ),
    "50,000 nested divs": (lambda c: c.post("/v1/articles", json=_article(body=_nested(50_000))), {422}),
    "invalid UTF-8": (
        lambda c: c.post("/v1/articles", content=b'{"external_id": "x", "title": "\xc3\x28\xff"}', headers=JSON),
        {400, 422},
    ),
    "invalid UTF-8 in bulk": (
        lambda c: c.post("/v1/articles:bulk", content=b'[{"title": "\xff\xfe"}]', headers=JSON),
        {400, 422},
    ),
    "raw control characters in JSON strings": (
        lambda c: c.post(
            "/v1/articles",
            content=b'{"external_id": "ctl-1", "title": "a\x00b\x1bc", "body": "\x07"}',
            headers=JSON,
        ),
        {400, 422},
    ),
    "control characters in the external id": (
        lambda c: c.post("/v1/articles", json=_article(external_id="ctl\u0000\u001b")),
        {422},
    ),
    "10 MB base64 data: image": (lambda c: c.post("/v1/articles", json=_article(body=_data_url_image(10))), {413}),
    "deeply nested JSON": (
        lambda c: c.post("/v1/articles", content=b"[" * 100_000 + b"]" * 100_000, headers=JSON),
        {400, 422},
    ),
    "bulk of 10,000 tiny items": (lambda c: c.post("/v1/articles:bulk", json=[{}] * 10_000), {413}),
}


@pytest.fixture
def newsroom_client(faults_stack: FaultStack) -> Iterator[httpx.Client]:
    with faults_stack.client(faults_stack.new_key(f"bad{uuid.uuid4().hex[:6]}"), timeout=60) as client:
        yield client


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_body_is_a_clear_4xx(newsroom_client: httpx.Client, case: str) -> None:
    request, expected = HOSTILE[case]
    resp = request(newsroom_client)
    assert resp.status_code in expected, f"{case}: {resp.status_code} {resp.text[:300]}"
    assert resp.headers["content-type"] == "application/problem+json", case
    problem = resp.json()
    assert problem["status"] == resp.status_code
    assert problem["detail"]


def test_hostile_markup_under_the_limit_is_accepted_sanitised(
    faults_stack: FaultStack, newsroom_client: httpx.Client, faults_worker: Proc
) -> None:
    """Deep nesting, control characters and a data: image that fit the limits are cleaned, not refused."""
    articles = [
        _article(body=_nested(40_000)),
        _article(body="<p>a\u0000b\u001bc\u2028d\u0007</p>"),
        _article(body=_data_url_image(0) + "<p>Teks berita.</p>" + "x" * 1000),
    ]
    uids, ids = [], []
    for article in articles:
        resp = newsroom_client.post("/v1/articles", json=article)
        assert resp.status_code == 202, resp.text[:300]
        uids.append(resp.json()["uid"])
        ids.append(article["external_id"])

    def indexed() -> bool:
        docs = faults_stack.es.mget(index=faults_stack.names.articles, ids=uids)["docs"]
        return all(d.get("found") for d in docs)

    try:
        wait_until(indexed, timeout=30, what="sanitised hostile articles indexed")
    except TimeoutError:
        states = [newsroom_client.get(f"/v1/articles/{i}").json() for i in ids]
        raise AssertionError(f"not indexed; states: {states}") from None
    for doc in faults_stack.es.mget(index=faults_stack.names.articles, ids=uids)["docs"]:
        assert "data:" not in doc["_source"]["body_html"]
        assert "\u0000" not in doc["_source"]["body_html"]


@pytest.mark.slow
def test_hostile_traffic_at_volume_keeps_ingest_up_and_bounded(
    faults_stack: FaultStack, newsroom_client: httpx.Client
) -> None:
    pid = faults_stack.ingest.popen.pid  # type: ignore[union-attr]
    requests = [request for request, _ in HOSTILE.values()] * 12
    statuses: list[int] = []
    started = time.monotonic()
    with PeakRss(pid) as rss, ThreadPoolExecutor(6) as pool:
        for resp in pool.map(lambda r: r(newsroom_client), requests):
            statuses.append(resp.status_code)
    took = time.monotonic() - started
    assert all(400 <= s < 500 for s in statuses), sorted(set(statuses))
    assert faults_stack.ingest.alive()
    assert newsroom_client.get("/healthz").status_code == 200
    ok = newsroom_client.post("/v1/articles", json=_article())
    assert ok.status_code == 202, ok.text
    assert rss.peak < RSS_LIMIT_MB, f"ingest peaked at {rss.peak:.0f} MB RSS"
    print(json.dumps({"requests": len(requests), "seconds": round(took, 1), "peak_rss_mb": round(rss.peak)}))


def test_control_characters_in_a_title_are_refused_with_a_pointer(newsroom_client: httpx.Client) -> None:
    """Refused up front, with a pointer at the field: nothing is accepted that could never be indexed."""
    article = _article(title="Judul\u0007 dengan\u0000 kontrol\u001f")
    resp = newsroom_client.post("/v1/articles", json=article)
    assert resp.status_code == 422, resp.text[:300]
    assert "/title" in {e["pointer"] for e in resp.json()["errors"]}
    assert newsroom_client.get(f"/v1/articles/{article['external_id']}").status_code == 404
