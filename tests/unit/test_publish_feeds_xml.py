"""Every string written to a feed or sitemap, attributes included, is filtered of XML-illegal code points."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.publish import feeds
from services.publish.routes import feeds as feed_routes

# U+FFFE/U+FFFF (let through by the models' NO_CONTROL), C0 controls and a lone surrogate.
BAD = "\ufffe\uffff\x00\x01\x08\x0b\x0c\x1f\ud800"


def _item(mark: str) -> dict[str, Any]:
    return {
        "uid": "0123456789abcdef",
        "title": f"Judul{mark}",
        "dek": f"Dek{mark}",
        "path": f"/tekno{mark}/2026/01/01/judul-0123456789abcdef",
        "section": f"Tekno{mark}logi",
        "section_slug": f"tekno{mark}",
        "authors": [f"Rina{mark}"],
        "tags": [f"data{mark}"],
        "body_text": f"isi{mark}",
        "language": f"id{mark}",
        "published_at": "2026-01-01T10:00:00+07:00",
    }


def _documents(mark: str) -> dict[str, bytes]:
    item = _item(mark)
    base = "http://x"
    return {
        "rss": feeds.rss(
            items=[item],
            title=f"Kabar · Tekno{mark}",
            link=f"{base}/t{mark}",
            self_url=f"{base}/t{mark}/rss.xml",
            base_url=base,
            language=f"id{mark}",
        ),
        "atom": feeds.atom(
            items=[item],
            title=f"Kabar · Tekno{mark}",
            link=f"{base}/t{mark}",
            self_url=f"{base}/t{mark}/atom.xml",
            base_url=base,
        ),
        "index": feeds.sitemap_index(entries=[(f"{base}/sitemaps/2026-01{mark}.xml", f"2026-01-01{mark}")]),
        "urlset": feeds.urlset(items=[item], base_url=base),
        "news": feeds.news_urlset(items=[item], base_url=base, publication=f"Kabar{mark}"),
    }


@pytest.mark.parametrize("kind", ["rss", "atom", "index", "urlset", "news"])
def test_illegal_characters_in_any_field_leave_the_document_well_formed(kind: str) -> None:
    doc = _documents(BAD)[kind]
    root = etree.fromstring(doc)  # a strict XML parser: raises on any illegal character
    assert root is not None
    for ch in BAD:
        assert ch.encode("utf-8", "surrogatepass") not in doc


def test_atom_category_attribute_keeps_the_legal_part() -> None:
    root = etree.fromstring(_documents(BAD)["atom"])
    terms = root.xpath("//a:entry/a:category/@term", namespaces={"a": feeds.ATOM_NS})
    assert terms == ["Teknologi"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters() | st.sampled_from(BAD) | st.characters(max_codepoint=0x1F), max_size=40))
def test_any_text_in_any_field_parses(mark: str) -> None:
    for doc in _documents(mark).values():
        etree.fromstring(doc)


@pytest.mark.parametrize("year", [1, 999, 1566, 1899, 1945, 2026, 9999])
def test_every_month_the_sitemap_index_can_list_has_a_sitemap_route(year: int) -> None:
    # The index names months as Elasticsearch formats them (yyyy-MM); the route must take each of them.
    name = f"{year:04d}-02"
    assert feed_routes._PART.fullmatch(name) and feed_routes._PART.fullmatch(f"{name}-3")
    assert not feed_routes._PART.fullmatch("0000-02")
