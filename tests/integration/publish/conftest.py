"""A real corpus in real Elasticsearch for the reader side, loaded once per session through the real indexer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from pydantic import ValidationError
from redis import Redis

from services.index.indexing.backfill import apply_in_batches, upsert_event
from services.index.related.lists import compute_related
from shared import corpora
from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.state import StateStore
from tests.conftest import SHARED_DATA
from tests.stack import operator_url, start_api

NEWSROOM = "kabar-test"
RAW = SHARED_DATA / "raw"
SITEMAP_MAX_URLS = 700
XSS_BODY = (
    '<p>Paragraf pertama tentang keamanan situs.</p><img src=x onerror="window.__xss=1;alert(1)">'
    '<script>window.__xss=2;alert(2)</script><p>Paragraf kedua <a href="javascript:alert(3)">tautan</a>.</p>'
    "<p>Paragraf ketiga penutup.</p>"
)


def make_event(article: dict[str, Any], *, revision: int = 1, op: Operation = Operation.UPSERT) -> ArticleEvent:
    event = upsert_event(article, newsroom=NEWSROOM, version=revision)
    if op == Operation.UPSERT:
        return event
    return event.model_copy(update={"op": op, "article": None, "revision": event.revision + 1})


def load_events(es: Elasticsearch, store: StateStore, names: IndexNames, events: list[ArticleEvent]) -> None:
    apply_in_batches(es=es, store=store, names=names, events=events)


@dataclass
class Corpus:
    """The loaded articles and the special cases tests look for."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    uids: dict[str, str] = field(default_factory=dict)
    old_path: str = ""
    known_items: list[dict[str, Any]] = field(default_factory=list)

    def doc(self, es: Elasticsearch, names: IndexNames, key: str) -> dict[str, Any]:
        return es.get(index=names.articles, id=self.uids[key])["_source"]


def _special_articles(now: datetime) -> dict[str, dict[str, Any]]:
    base = {"section": "Teknologi", "source": "kabar.test", "language": "id"}
    return {
        "featured": {
            **base,
            "external_id": "featured-1",
            "title": "Pemerintah menetapkan kebijakan baru pusat data nasional",
            "dek": "Kebijakan itu mengatur penyimpanan data publik di dalam negeri.",
            "body_paragraphs": [
                "Pemerintah menetapkan kebijakan baru tentang pusat data nasional pada Senin.",
                "Menteri mengatakan kebijakan tersebut berlaku bulan depan untuk semua lembaga.",
                "Para pengamat menilai penetapan aturan itu penting bagi keamanan data warga.",
                "Rapat lanjutan dijadwalkan pekan depan bersama pelaku industri.",
            ],
            "authors": ["Rina Wulandari", "Budi Santoso"],
            "tags": ["pusat data", "kebijakan publik"],
            "byline": "RIN",
            "dateline": "JAKARTA",
            "images": [
                {"url": "https://images.example.org/pusat-data.jpg", "caption": "Ruang server", "credit": "Kabar"}
            ],
            "published_at": (now - timedelta(hours=3)).isoformat(),
            "updated_at": (now - timedelta(hours=1)).isoformat(),
        },
        "xss": {
            **base,
            "external_id": "xss-1",
            "title": "Uji keamanan <script>alert('judul')</script> halaman berita",
            "body": XSS_BODY,
            "tags": ["keamanan"],
            "published_at": (now - timedelta(hours=5)).isoformat(),
        },
        "withdrawn": {
            **base,
            "external_id": "withdrawn-1",
            "title": "Berita yang kemudian ditarik redaksi",
            "body_paragraphs": ["Isi berita yang ditarik."],
            "published_at": (now - timedelta(hours=8)).isoformat(),
        },
        "deleted": {
            **base,
            "external_id": "deleted-1",
            "title": "Berita yang kemudian dihapus redaksi",
            "body_paragraphs": ["Isi berita yang dihapus."],
            "published_at": (now - timedelta(hours=9)).isoformat(),
        },
        "renamed": {
            **base,
            "external_id": "renamed-1",
            "title": "Judul lama berita perubahan judul",
            "body_paragraphs": ["Isi berita yang judulnya diubah."],
            "published_at": (now - timedelta(hours=10)).isoformat(),
        },
    }


def build_corpus(es: Elasticsearch, redis: Redis, prefix: str, names: IndexNames) -> Corpus:
    store = StateStore(redis, prefix)
    corpus = Corpus()
    events: list[ArticleEvent] = []
    sources = itertools.chain(
        itertools.islice(corpora.load("news-intelligence", RAW), 1700),
        itertools.islice(corpora.load("summarization", RAW), 300),
    )
    seen_titles: set[str] = set()
    for raw in sources:
        try:
            event = make_event(raw)
        except ValidationError:
            continue
        events.append(event)
        if raw["external_id"].startswith("detik-") and raw["title"] not in seen_titles:
            corpus.known_items.append({"uid": event.uid, "title": raw["title"]})
        seen_titles.add(raw["title"])
    now = datetime.now(UTC)
    special = _special_articles(now)
    for key, raw in special.items():
        event = make_event(raw)
        events.append(event)
        corpus.uids[key] = event.uid
    load_events(es, store, names, events)

    # Title change: a second revision with a new title (new slug); the first path must keep working.
    renamed = special["renamed"]
    first = es.get(index=names.articles, id=corpus.uids["renamed"])["_source"]
    corpus.old_path = first["path"]
    later = [make_event({**renamed, "title": "Judul baru setelah berita diubah"}, revision=2)]
    later.append(make_event(special["withdrawn"], revision=2, op=Operation.WITHDRAW))
    later.append(make_event(special["deleted"], revision=2, op=Operation.DELETE))
    load_events(es, store, names, later)
    renamed_path = es.get(index=names.articles, id=corpus.uids["renamed"])["_source"]["path"]
    assert corpus.old_path != renamed_path
    # Related lists for the featured article and a few corpus articles (the worker's own function).
    for uid in [corpus.uids["featured"], *[k["uid"] for k in corpus.known_items[:5]]]:
        compute_related(es=es, names=names, uid=uid)
    es.indices.refresh(index=names.related)
    return corpus


# tests/browser imports these fixtures into its own conftest, which makes a second session fixture:
# the corpus is loaded once per prefix all the same (a second load would replay stale revisions).
_LOADED: dict[str, Corpus] = {}


@pytest.fixture(scope="session")
def corpus(es: Elasticsearch, redis: Redis, prefix: str, names: IndexNames) -> Corpus:
    if prefix not in _LOADED:
        _LOADED[prefix] = build_corpus(es, redis, prefix, names)
    return _LOADED[prefix]


@pytest.fixture(scope="session")
def publish_url(es: Elasticsearch, stack_env: dict[str, str], corpus: Corpus) -> Iterator[str]:
    """The real publish app as a process, with small sitemaps so the 50,000-URL split is exercised."""
    env = {**stack_env, "KABAR_SITEMAP_MAX_URLS": str(SITEMAP_MAX_URLS), "KABAR_LOG_LEVEL": "WARNING"}
    proc, url = start_api("publish", "services.publish.app:create_app", env)
    yield url
    proc.stop()


@pytest.fixture
def publish(publish_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=publish_url, timeout=30) as client:
        yield client


@pytest.fixture
def operator(publish_url: str) -> Iterator[httpx.Client]:
    """The same publish process on its operator port (/metrics, /readyz, /docs, /openapi.json)."""
    with httpx.Client(base_url=operator_url(publish_url), timeout=30) as client:
        yield client
