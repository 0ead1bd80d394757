"""Withdrawn stories never surface: not in related lists, not in "did you mean"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from lxml import html as lxml_html
from redis import Redis

from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.state import StateStore
from tests.integration.publish.conftest import load_events, make_event
from tests.stack import start_api

# Long enough that only a purge, never expiry, can explain a page changing during a test.
PAGE_CACHE_SECONDS = 30


def _story(title: str, body: str, *, hours_ago: int = 2) -> dict[str, Any]:
    return {
        "external_id": f"wd-{uuid.uuid4().hex[:12]}",
        "title": title,
        "section": "Teknologi",
        "source": "kabar.test",
        "language": "id",
        "body_paragraphs": [body],
        "published_at": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
    }


def _publish_stories(es: Elasticsearch, redis: Redis, names: IndexNames, *stories: dict[str, Any]) -> list[str]:
    events = [make_event(s) for s in stories]
    load_events(es, StateStore(redis, names.prefix), names, events)
    return [e.uid for e in events]


def _removal(story: dict[str, Any], op: Operation) -> ArticleEvent:
    return make_event(story, revision=2, op=op)


def _store_related(es: Elasticsearch, names: IndexNames, owner: str, items: list[dict[str, Any]]) -> None:
    """A stored list as the worker writes it; forget() is assumed to have failed, so it still lists everything."""
    es.index(
        index=names.related,
        id=owner,
        document={
            "uid": owner,
            "items": items,
            "related_uids": [i["uid"] for i in items],
            "computed_at": datetime.now(UTC).isoformat(),
            "source_revision": 1,
        },
        refresh=True,
    )


def _item(es: Elasticsearch, names: IndexNames, uid: str, title: str, kind: str = "computed") -> dict[str, Any]:
    src = es.get(index=names.articles, id=uid)["_source"]
    return {"uid": uid, "title": title, "path": src.get("path"), "section": "Teknologi", "kind": kind}


@pytest.fixture(scope="module")
def reader_url(es: Elasticsearch, redis: Redis, stack_env: dict[str, str]) -> Iterator[str]:
    """A publish process of its own: a long page cache, listening for purges on this run's prefix."""
    env = {**stack_env, "KABAR_PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS), "KABAR_LOG_LEVEL": "WARNING"}
    proc, url = start_api("publish-withdrawn", "services.publish.app:create_app", env)
    yield url
    proc.stop()


@pytest.fixture
def reader(reader_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=reader_url, timeout=30) as client:
        yield client


def _page_titles(client: httpx.Client, path: str) -> list[str]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text[:300]
    doc = lxml_html.fromstring(resp.text)
    return [a.text_content() for a in doc.xpath("//p[@class='baca-juga']/a | //section[@class='related']//li/a")]


def test_related_lists_show_only_published_stories(
    reader: httpx.Client, es: Elasticsearch, redis: Redis, names: IndexNames
) -> None:
    owner, live, withdrawn, deleted = (
        _story("Pelabuhan baru mulai melayani kapal barang", "Pelabuhan itu dibuka pekan ini."),
        _story("Jadwal kapal barang berubah selama musim hujan", "Jadwal kapal disesuaikan cuaca."),
        _story("Kapal barang tertahan di pelabuhan lama", "Berita ini kemudian ditarik redaksi."),
        _story("Tarif pelabuhan naik untuk kapal barang", "Berita ini kemudian dihapus redaksi."),
    )
    uids = _publish_stories(es, redis, names, owner, live, withdrawn, deleted)
    owner_uid, live_uid, withdrawn_uid, deleted_uid = uids
    items = [
        _item(es, names, withdrawn_uid, withdrawn["title"], kind="editor"),
        _item(es, names, live_uid, live["title"]),
        _item(es, names, deleted_uid, deleted["title"]),
    ]
    load_events(
        es,
        StateStore(redis, names.prefix),
        names,
        [_removal(withdrawn, Operation.WITHDRAW), _removal(deleted, Operation.DELETE)],
    )
    assert es.get(index=names.articles, id=withdrawn_uid)["_source"]["status"] == "withdraw"
    _store_related(es, names, owner_uid, items)

    path = es.get(index=names.articles, id=owner_uid)["_source"]["path"]
    assert _page_titles(reader, path) == [live["title"]]

    api = reader.get(f"/api/v1/articles/{owner_uid}/related")
    assert api.status_code == 200
    assert [i["uid"] for i in api.json()["items"]] == [live_uid]


def test_did_you_mean_never_offers_withdrawn_words(
    reader: httpx.Client, es: Elasticsearch, redis: Redis, names: IndexNames
) -> None:
    published = _story("Warga Kelmarutin merayakan panen raya", "Panen raya di Kelmarutin berlangsung meriah.")
    withdrawn = _story("Banjir melanda desa Zorvandika", "Desa Zorvandika terendam banjir semalaman.")
    deleted = _story("Jembatan Gundoravi ditutup sementara", "Jembatan Gundoravi sedang diperbaiki.")
    _publish_stories(es, redis, names, published, withdrawn, deleted)
    load_events(
        es,
        StateStore(redis, names.prefix),
        names,
        [_removal(withdrawn, Operation.WITHDRAW), _removal(deleted, Operation.DELETE)],
    )

    def did_you_mean(q: str) -> str | None:
        resp = reader.get("/api/v1/search", params={"q": q})
        assert resp.status_code == 200, resp.text
        return resp.json()["did_you_mean"]

    assert did_you_mean("kelmarutim") == "kelmarutin"
    assert did_you_mean("zorvandiko") is None
    assert did_you_mean("gundorava") is None
    page = reader.get("/cari", params={"q": "zorvandiko"})
    assert page.status_code == 200 and "zorvandika" not in page.text.lower()
