"""Correction and update notes end to end: ingest API → RabbitMQ → worker → Elasticsearch → publish.

The page shows "Koreksi"/"Pembaruan" notes with Indonesian times (escaped), the JSON-LD carries them as
CorrectionComment items with dateModified, the RSS and Atom items lead with the latest note and say when
the story was updated, and the JSON API lists them. A bad note is a 422 problem and changes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from lxml import etree

from harness.procs import Proc, start_api, wait_until

ATOM = "{http://www.w3.org/2005/Atom}"
CORRECTION = {
    "kind": "correction",
    "text": "Sungai yang meluap adalah Ciliwung, bukan <em>Cisadane</em> seperti tertulis sebelumnya.",
    "at": "2026-11-26T14:05:00+07:00",
}
CLARIFICATION = {
    "kind": "clarification",
    "text": "Jumlah pengungsi diperbarui menjadi 1.200 orang.",
    "at": "2026-11-26T15:30:00+07:00",
}


@pytest.fixture(scope="module")
def reader_url(es: Any, stack_env: dict[str, str]) -> Iterator[str]:
    """A publish process of its own: these tests need no corpus, only the stories they send."""
    proc, url = start_api("publish-corrections", "services.publish.app:create_app", stack_env)
    yield url
    proc.stop()


@pytest.fixture
def reader(reader_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reader_url, timeout=30) as client:
        yield client


@pytest.fixture
def story() -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        return {
            "external_id": f"koreksi-{uuid.uuid4().hex[:10]}",
            "version": 1,
            "title": "Banjir rendam permukiman di tepi sungai",
            "dek": "Hujan deras sejak dini hari membuat sungai meluap.",
            "body": "<p>Hujan deras sejak dini hari membuat sungai meluap.</p><p>Warga diungsikan.</p>",
            "section": "Metro",
            "published_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            **fields,
        }

    return make


def _applied(ingest: httpx.Client, external_id: str, version: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        state = ingest.get(f"/v1/articles/{external_id}").json()
        return state if state.get("version") == version and state.get("status") == "published" else None

    return wait_until(check, timeout=30, what=f"{external_id} v{version} published")


def _page(reader: httpx.Client, path: str, needle: str) -> str:
    """The page once it shows the needle (the worker's purge notice reaches publish's page cache)."""

    def check() -> str | None:
        resp = reader.get(path)
        return resp.text if resp.status_code == 200 and needle in resp.text else None

    return wait_until(check, timeout=30, what=f"{needle!r} on {path}")


def _json_ld(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def _feed_entry(reader: httpx.Client, feed: str, tag: str, key: str, url: str, needle: str) -> etree._Element:
    """The story's item in a feed once it shows the needle (listings follow the index's refresh)."""

    def check() -> list[etree._Element]:
        root = etree.fromstring(reader.get(feed).content)  # strict: the feed must stay well-formed XML
        # A list, not the element: an lxml element's truth is its number of children.
        return [i for i in root.iter(tag) if i.findtext(key) == url and needle in etree.tostring(i, encoding="unicode")]

    return wait_until(check, timeout=30, what=f"{needle!r} in {feed}")[0]


def test_corrections_on_page_json_ld_feeds_and_api(
    ingest: httpx.Client, reader: httpx.Client, worker: Proc, story: Callable[..., dict[str, Any]]
) -> None:
    article = story()
    external_id = article["external_id"]
    assert ingest.post("/v1/articles", json=article).status_code == 202
    state = _applied(ingest, external_id, 1)
    url, uid = state["url"], state["uid"]
    path = urlparse(url).path
    first = _page(reader, path, article["title"])
    assert "Koreksi" not in first and "CorrectionComment" not in first

    # v2: a correction; v3: the correction kept and an update note added (the whole list each time).
    v2 = {**article, "version": 2, "corrections": [CORRECTION]}
    assert ingest.put(f"/v1/articles/{external_id}", json=v2).status_code == 202
    _applied(ingest, external_id, 2)
    _page(reader, path, "Koreksi")
    v3 = {**article, "version": 3, "corrections": [CORRECTION, CLARIFICATION]}
    assert ingest.put(f"/v1/articles/{external_id}", json=v3).status_code == 202
    _applied(ingest, external_id, 3)
    html = _page(reader, path, "Pembaruan")

    assert "<strong>Koreksi</strong> (<time datetime=" in html
    assert "26 November 2026 14.05 WIB" in html and "26 November 2026 15.30 WIB" in html
    assert CLARIFICATION["text"] in html
    # Plain text: the note's markup is shown as text, never as markup.
    assert "bukan &lt;em&gt;Cisadane&lt;/em&gt;" in html and "<em>Cisadane</em>" not in html
    # The byline says when the story was last updated: the latest note's time (no updated_at was sent).
    assert "Diperbarui: <time" in html and "Kamis, 26 November 2026 · 15.30 WIB" in html

    data = _json_ld(html)
    assert data["@type"] == "NewsArticle"
    assert datetime.fromisoformat(data["dateModified"]) == datetime.fromisoformat(CLARIFICATION["at"])
    assert [c["@type"] for c in data["correction"]] == ["CorrectionComment", "CorrectionComment"]
    assert [c["text"] for c in data["correction"]] == [CORRECTION["text"], CLARIFICATION["text"]]
    assert datetime.fromisoformat(data["correction"][0]["datePublished"]) == datetime.fromisoformat(CORRECTION["at"])

    item = _feed_entry(reader, "/rss.xml", "item", "link", url, "Pembaruan")
    description = item.findtext("description") or ""
    assert description.startswith(f"Pembaruan (26 November 2026 15.30 WIB): {CLARIFICATION['text']} — ")
    assert description.endswith(article["dek"])
    updated = item.findtext(f"{ATOM}updated")
    assert updated and datetime.fromisoformat(updated) == datetime.fromisoformat(CLARIFICATION["at"])

    entry = _feed_entry(reader, "/atom.xml", f"{ATOM}entry", f"{ATOM}id", url, "Pembaruan")
    assert (entry.findtext(f"{ATOM}summary") or "").startswith("Pembaruan (26 November 2026 15.30 WIB): ")
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "") == datetime.fromisoformat(CLARIFICATION["at"])

    api = reader.get(f"/api/v1/articles/{uid}")
    assert api.status_code == 200
    notes = api.json()["corrections"]
    assert [(n["kind"], n["text"]) for n in notes] == [
        ("correction", CORRECTION["text"]),
        ("clarification", CLARIFICATION["text"]),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "correction", "text": ""},
        {"kind": "correction", "text": "   "},
        {"kind": "oops", "text": "Semula tertulis salah."},
    ],
    ids=["empty", "blank", "unknown-kind"],
)
def test_bad_note_is_a_422_problem_and_changes_nothing(
    ingest: httpx.Client, reader: httpx.Client, worker: Proc, story: Callable[..., dict[str, Any]], bad: dict[str, str]
) -> None:
    article = story(corrections=[CORRECTION])
    external_id = article["external_id"]
    assert ingest.post("/v1/articles", json=article).status_code == 202
    before = _applied(ingest, external_id, 1)
    path = urlparse(before["url"]).path
    _page(reader, path, "Koreksi")

    resp = ingest.put(
        f"/v1/articles/{external_id}",
        json={**article, "version": 2, "title": "Judul yang tidak boleh tampil", "corrections": [CORRECTION, bad]},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == 422
    assert any(e["pointer"].startswith("/corrections/1") for e in problem.get("errors", [])), problem

    after = ingest.get(f"/v1/articles/{external_id}").json()
    assert (after["version"], after["revision"]) == (before["version"], before["revision"])
    history = ingest.get(f"/v1/articles/{external_id}/history").json()["entries"]
    assert len(history) == 1
    page = reader.get(path).text
    assert "Judul yang tidak boleh tampil" not in page and article["title"] in page


def test_english_article_notes_are_in_english(
    ingest: httpx.Client, reader: httpx.Client, worker: Proc, story: Callable[..., dict[str, Any]]
) -> None:
    article = story(
        language="en",
        title="Floods hit riverside homes",
        body="<p>Heavy rain since dawn made the river overflow.</p>",
        corrections=[CORRECTION, CLARIFICATION],
    )
    assert ingest.post("/v1/articles", json=article).status_code == 202
    state = _applied(ingest, article["external_id"], 1)
    html = _page(reader, urlparse(state["url"]).path, "Correction")
    assert "<strong>Correction</strong>" in html and "<strong>Update</strong>" in html
    assert "26 November 2026 14:05 WIB" in html
    assert "Koreksi</strong>" not in html
