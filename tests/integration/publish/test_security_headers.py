"""Security headers on every response of every route family: pages, API, feeds, redirects and errors.

No path is exempt: a section slugged "docs-..." and anything under /docs or /redoc get them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from elasticsearch import Elasticsearch

from services.publish.security import CSP, OPERATOR_CSP
from shared.es import IndexNames
from tests.integration.publish.conftest import Corpus
from tests.stack import free_port, operator_url, start_api

REQUIRED = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")
DOCS_UID = "d0c5d0c5d0c5d0c5"


def assert_secured(resp: httpx.Response, *, csp: str = CSP) -> None:
    where = f"{resp.request.method} {resp.request.url} -> {resp.status_code}"
    for name in REQUIRED:
        assert resp.headers.get(name), f"{name} missing on {where}"
    assert resp.headers["content-security-policy"] == csp, where
    assert resp.headers["x-frame-options"] == "DENY" and resp.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def docs_section(es: Elasticsearch, names: IndexNames, corpus: Corpus) -> Iterator[dict[str, Any]]:
    """A published article in a section whose slug starts with "docs"."""
    doc = corpus.doc(es, names, "featured")
    published = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    doc.update(
        uid=DOCS_UID,
        section="Docs Ekonomi",
        section_slug="docs-ekonomi",
        path=f"/docs-ekonomi/2025/01/01/dokumen-{DOCS_UID}",
        published_at=published,
        updated_at=published,
    )
    doc.pop("title_suggest", None)
    es.index(index=names.articles, id=DOCS_UID, document=doc, refresh="wait_for")
    try:
        yield doc
    finally:
        es.delete(index=names.articles, id=DOCS_UID, refresh="wait_for")


def test_every_route_family_and_status(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames, docs_section: dict[str, Any]
) -> None:
    featured = corpus.doc(es, names, "featured")
    uid = featured["uid"]
    tag, author = featured["tags"][0], featured["authors"][0]
    samples: list[tuple[str, str, int]] = [
        ("GET", "/", 200),
        ("GET", "/cari?q=data", 200),
        ("GET", "/teknologi", 200),
        ("GET", f"/topik/{quote(tag)}", 200),
        ("GET", f"/penulis/{quote(author)}", 200),
        ("GET", featured["path"], 200),
        ("GET", corpus.old_path, 301),
        ("GET", f"/docs/1/2/3/x-{uid}", 301),
        ("GET", f"/redoc/1/2/3/x-{uid}", 301),
        ("GET", "/docs-ekonomi", 200),
        ("GET", docs_section["path"], 200),
        ("GET", "/docs-ekonomi/rss.xml", 200),
        ("GET", "/docs", 404),
        ("GET", "/docs/oauth2-redirect", 404),
        ("GET", "/redoc", 404),
        ("GET", "/tidak-ada", 404),
        ("GET", corpus.doc(es, names, "withdrawn")["path"], 410),
        ("GET", "/cari?page=abc", 400),
        ("POST", "/", 405),
        ("GET", "/api/v1/search?q=data", 200),
        ("GET", "/api/v1/search?page=0", 422),
        ("GET", "/api/v1/suggest?q=pemerintah", 200),
        ("GET", f"/api/v1/articles/{uid}", 200),
        ("GET", f"/api/v1/articles/{uid}/related", 200),
        ("GET", "/api/v1/articles/0123456789abcdef", 404),
        ("GET", f"/api/v1/articles/{corpus.uids['withdrawn']}", 410),
        ("GET", "/api/v1/nothing", 404),
        ("GET", "/rss.xml", 200),
        ("GET", "/atom.xml", 200),
        ("GET", "/teknologi/atom.xml", 200),
        ("GET", "/sitemap.xml", 200),
        ("GET", "/sitemaps/news.xml", 200),
        ("GET", "/sitemaps/2024-13.xml", 404),
        ("GET", "/robots.txt", 200),
        ("GET", "/static/kabar.css", 200),
        ("GET", "/static/nothing.css", 404),
        ("GET", "/healthz", 200),
    ]
    for method, path, status in samples:
        resp = publish.request(method, path, follow_redirects=False)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text[:200])
        assert_secured(resp)
    etag = publish.get(featured["path"]).headers["etag"]
    not_modified = publish.get(featured["path"], headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert_secured(not_modified)


def test_operator_port_responses_carry_them_too(publish_url: str, corpus: Corpus) -> None:
    base = operator_url(publish_url)
    for path, status in (("/docs", 200), ("/redoc", 200), ("/openapi.json", 200), ("/metrics", 200), ("/nope", 404)):
        resp = httpx.get(base + path, timeout=30)
        assert resp.status_code == status, (path, resp.status_code)
        assert_secured(resp, csp=OPERATOR_CSP)


def test_outage_503_carries_them(stack_env: dict[str, str]) -> None:
    env = {**stack_env, "KABAR_ES_URL": f"http://127.0.0.1:{free_port()}", "KABAR_ES_REQUEST_TIMEOUT": "1"}
    proc, url = start_api("publish-no-es-headers", "services.publish.app:create_app", env)
    try:
        for path in (
            "/",
            "/cari?q=banjir",
            "/api/v1/search?q=banjir",
            "/rss.xml",
            "/teknologi/2026/01/01/x-0123456789abcdef",
        ):
            resp = httpx.get(url + path, timeout=30)
            assert resp.status_code == 503, (path, resp.status_code)
            assert_secured(resp)
        ready = httpx.get(operator_url(url) + "/readyz", timeout=30)
        assert ready.status_code == 503
        assert_secured(ready, csp=OPERATOR_CSP)
    finally:
        proc.stop()
