"""Withdrawn stories never surface: not in related lists, not in "did you mean", not from the page cache."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from elasticsearch import Elasticsearch
from lxml import html as lxml_html
from redis import Redis

from services.index.config import IndexSettings
from services.index.indexing.indexer import apply_events
from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.purge import publish_purge, purge_channel
from shared.state import StateStore
from tests.faults.proxy import TcpProxy
from tests.integration.publish.conftest import load_events, make_event
from tests.stack import start_api, wait_until

# Long enough that only a purge, never expiry, can explain a page changing during a test.
PAGE_CACHE_SECONDS = 30
SETTLE_SECONDS = 3.0


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


def _subscribers(redis: Redis, names: IndexNames) -> int:
    return int(redis.pubsub_numsub(purge_channel(names.prefix))[0][1])


def _env(stack_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        **stack_env,
        "KABAR_PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS),
        "KABAR_PURGE_SETTLE_SECONDS": str(SETTLE_SECONDS),
        "KABAR_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextlib.contextmanager
def _listening_reader(
    redis: Redis, names: IndexNames, stack_env: dict[str, str], *, name: str, **extra: str
) -> Iterator[httpx.Client]:
    """A publish process of its own, handed over once it listens for purges and caches pages."""
    before = _subscribers(redis, names)  # other publish processes of this run listen on the same channel
    proc, url = start_api(name, "services.publish.app:create_app", _env(stack_env, **extra))
    try:
        wait_until(lambda: _subscribers(redis, names) == before + 1, timeout=15, what="publish to listen")
        # Every (re)subscription clears the cache and pauses caching for the settle time: wait it out.
        time.sleep(SETTLE_SECONDS + 0.2)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def reader_url(es: Elasticsearch, stack_env: dict[str, str]) -> Iterator[str]:
    """A publish process of its own with a long page cache."""
    proc, url = start_api("publish-withdrawn", "services.publish.app:create_app", _env(stack_env))
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
    assert es.get(index=names.articles, id=withdrawn_uid)["_source"]["status"] == "withdrawn"
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


def test_withdraw_purge_evicts_cached_pages(
    es: Elasticsearch, redis: Redis, names: IndexNames, stack_env: dict[str, str]
) -> None:
    owner = _story("Bandara daerah menambah rute penerbangan", "Rute baru dibuka bulan depan.")
    story = _story("Maskapai menunda rute penerbangan baru", "Penundaan diumumkan Senin.")
    owner_uid, story_uid = _publish_stories(es, redis, names, owner, story)
    _store_related(es, names, owner_uid, [_item(es, names, story_uid, story["title"])])
    story_path = es.get(index=names.articles, id=story_uid)["_source"]["path"]
    owner_path = es.get(index=names.articles, id=owner_uid)["_source"]["path"]

    with _listening_reader(redis, names, stack_env, name="publish-purge") as reader:
        first = reader.get(story_path)
        assert first.status_code == 200
        # Shared caches cannot be purged yet: they may keep a page only briefly (see PublishSettings).
        assert first.headers["cache-control"] == "public, max-age=10, stale-while-revalidate=30"
        assert _page_titles(reader, owner_path) == [story["title"]]
        # Withdrawn exactly as the worker does it (the same indexer call, no refresh); forget() never ran.
        withdrawal = _removal(story, Operation.WITHDRAW)
        applied = apply_events(es=es, store=StateStore(redis, names.prefix), names=names, events=[withdrawal])
        assert applied.removed == [story_uid]
        # Still served from the page cache: that is what the purge is for.
        assert reader.get(story_path).status_code == 200

        started = time.monotonic()
        assert publish_purge(redis, names.prefix, [story_uid]) >= 1
        wait_until(lambda: reader.get(story_path).status_code == 410, timeout=2, interval=0.02, what="410 after purge")
        # The list of another article that showed it loses it too, though its stored list still names it.
        wait_until(lambda: _page_titles(reader, owner_path) == [], timeout=3, interval=0.05, what="related list purged")
        assert time.monotonic() - started < PAGE_CACHE_SECONDS / 5


def test_purge_listener_survives_a_redis_outage(
    es: Elasticsearch, redis: Redis, names: IndexNames, settings: IndexSettings, stack_env: dict[str, str]
) -> None:
    """Publish serves on while Redis is away, resubscribes, and drops the pages whose notices it missed."""
    story = _story("Festival musik ditunda karena cuaca buruk", "Panitia mengumumkan penundaan festival.")
    (uid,) = _publish_stories(es, redis, names, story)
    path = es.get(index=names.articles, id=uid)["_source"]["path"]
    baseline = _subscribers(redis, names)
    target = urlparse(settings.redis_url)
    proxy = TcpProxy(target_host=target.hostname or "127.0.0.1", target_port=target.port or 6379).start()
    redis_url = f"redis://{proxy.url_host_port}{target.path}"
    try:
        with _listening_reader(
            redis, names, stack_env, name="publish-redis-outage", KABAR_REDIS_URL=redis_url
        ) as client:
            assert client.get(path).status_code == 200
            proxy.stop()
            wait_until(lambda: _subscribers(redis, names) == baseline, timeout=10, what="the subscription to drop")
            withdrawal = _removal(story, Operation.WITHDRAW)
            apply_events(es=es, store=StateStore(redis, names.prefix), names=names, events=[withdrawal])
            publish_purge(redis, names.prefix, [uid])  # nobody behind the proxy hears this one
            assert client.get(path).status_code == 200  # the cached page: pages never wait on Redis
            assert client.get("/").status_code == 200
            proxy.start()
            wait_until(lambda: _subscribers(redis, names) == baseline + 1, timeout=15, what="publish to resubscribe")
            # The missed notice cannot be replayed, so resubscribing starts the cache over.
            wait_until(lambda: client.get(path).status_code == 410, timeout=3, interval=0.05, what="410")
    finally:
        proxy.stop()
