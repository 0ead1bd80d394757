"""A stored article carrying XML-illegal characters in every field still yields well-formed feeds and sitemaps.

Ingest lets U+FFFE/U+FFFF through (and documents may predate any filtering), so the document is written
to Elasticsearch as it could be stored, then every XML document publish serves is parsed strictly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from lxml import etree

from shared.es import IndexNames
from tests.integration.publish.conftest import Corpus

UID = "fffe0000fffe0001"
SLUG = "xmlrusak"
BAD = "\uffff\ufffe\x01"


@pytest.fixture
def broken_article(es: Elasticsearch, names: IndexNames, corpus: Corpus) -> Iterator[dict[str, Any]]:
    doc = corpus.doc(es, names, "featured")
    published = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    doc.update(
        uid=UID,
        title=f"Judul{BAD} rusak",
        dek=f"Dek{BAD}",
        section=f"Tekno{BAD}XML",
        section_slug=SLUG,
        authors=[f"Rina{BAD}"],
        tags=[f"data{BAD}"],
        body_text=f"Isi{BAD} rusak.",
        path=f"/{SLUG}/2026/01/01/judul-rusak-{UID}",
        published_at=published,
        updated_at=published,
    )
    doc.pop("title_suggest", None)
    es.index(index=names.articles, id=UID, document=doc, refresh="wait_for")
    try:
        yield doc
    finally:
        es.delete(index=names.articles, id=UID, refresh="wait_for")


def test_every_feed_and_sitemap_parses(publish: httpx.Client, broken_article: dict[str, Any]) -> None:
    month = broken_article["published_at"][:7]
    paths = [f"/{SLUG}/atom.xml", f"/{SLUG}/rss.xml", "/atom.xml", "/rss.xml", "/sitemaps/news.xml", "/sitemap.xml"]
    paths += [f"/sitemaps/{month}.xml"]
    for path in paths:
        resp = publish.get(path)
        assert resp.status_code == 200, (path, resp.text[:300])
        etree.fromstring(resp.content)  # strict: one U+FFFF anywhere is a fatal error
        assert "\uffff".encode() not in resp.content and "\ufffe".encode() not in resp.content
    atom = etree.fromstring(publish.get(f"/{SLUG}/atom.xml").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert atom.xpath("/a:feed/a:title/text()", namespaces=ns) == ["Kabar · TeknoXML"]
    assert atom.xpath("//a:entry/a:category/@term", namespaces=ns) == ["TeknoXML"]
