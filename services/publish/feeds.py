"""RSS 2.0, Atom, sitemap and Google News sitemap documents, built as XML trees (never by string pasting)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from services.publish.corrections import latest_note, modified_at, note_line, note_locale
from services.publish.formatting import parse_dt

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

DC_NS = "http://purl.org/dc/elements/1.1/"
# Namespaces are declared as attributes and tags written prefixed, so no global ElementTree
# namespace registry is touched (it is process-wide state).


# Everything outside XML 1.0's Char production: C0 controls but tab, newline and CR, lone surrogates,
# U+FFFE and U+FFFF. ElementTree escapes markup characters but writes these as they are, and one of them
# anywhere (text or attribute) makes the whole document unparseable for every reader of the feed.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """The value without the code points XML 1.0 forbids."""
    return _XML_ILLEGAL.sub("", value)


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # Every string reaches the document through here, attributes included: stored documents may predate
    # ingest's filtering, and section names, authors and tags were never filtered for XML at all.
    el = ET.SubElement(parent, tag, {name: xml_text(value) for name, value in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def _when(item: dict[str, Any]) -> datetime:
    # A correction or update note is a change to the story: its time counts like updated_at's.
    return parse_dt(modified_at(item) or item.get("published_at")) or datetime.now(UTC)


def _summary(item: dict[str, Any], locale: str = "id") -> str:
    """The dek (or the body's start), led by the latest note when the story was corrected or updated."""
    summary = item.get("dek") or (item.get("body_text") or "")[:300]
    note = latest_note(item, locale=note_locale(item, locale))
    if not note:
        return summary
    return f"{note_line(note)} — {summary}" if summary else note_line(note)


def rss(
    *,
    items: list[dict[str, Any]],
    title: str,
    link: str,
    self_url: str,
    base_url: str,
    language: str,
    hub_url: str | None = None,
) -> bytes:
    """An RSS 2.0 channel (with atom:link rel=self, as validators expect, and rel=hub for WebSub)."""
    root = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS})
    channel = _sub(root, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", link)
    _sub(channel, "description", title)
    _sub(channel, "language", language)
    _sub(channel, "atom:link", href=self_url, rel="self", type="application/rss+xml")
    if hub_url:
        _sub(channel, "atom:link", href=hub_url, rel="hub")
    if items:
        _sub(channel, "lastBuildDate", format_datetime(max(_when(i) for i in items)))
    for item in items:
        url = base_url + item["path"]
        entry = _sub(channel, "item")
        _sub(entry, "title", item.get("title") or "")
        _sub(entry, "link", url)
        _sub(entry, "guid", url, isPermaLink="true")
        _sub(entry, "description", _summary(item, language))
        published = parse_dt(item.get("published_at"))
        if published:
            _sub(entry, "pubDate", format_datetime(published))
        if modified_at(item):
            # RSS has no updated date of its own; Atom's element (its namespace is declared) says it exactly.
            _sub(entry, "atom:updated", _when(item).isoformat())
        if item.get("section"):
            _sub(entry, "category", item["section"])
        for author in item.get("authors") or []:
            _sub(entry, "dc:creator", author)
    return _xml(root)


def atom(
    *,
    items: list[dict[str, Any]],
    title: str,
    link: str,
    self_url: str,
    base_url: str,
    hub_url: str | None = None,
) -> bytes:
    """An Atom 1.0 feed; every entry has the id, title, updated and link Atom requires (rel=hub: WebSub)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    _sub(root, "title", title)
    _sub(root, "id", self_url)
    _sub(root, "link", href=link)
    _sub(root, "link", href=self_url, rel="self")
    if hub_url:
        _sub(root, "link", href=hub_url, rel="hub")
    updated = max((_when(i) for i in items), default=datetime.now(UTC))
    _sub(root, "updated", updated.isoformat())
    author = _sub(root, "author")
    _sub(author, "name", title)
    for item in items:
        url = base_url + item["path"]
        entry = _sub(root, "entry")
        _sub(entry, "id", url)
        _sub(entry, "title", item.get("title") or "")
        _sub(entry, "link", href=url, rel="alternate")
        _sub(entry, "updated", _when(item).isoformat())
        published = parse_dt(item.get("published_at"))
        if published:
            _sub(entry, "published", published.isoformat())
        _sub(entry, "summary", _summary(item))
        for name in item.get("authors") or []:
            _sub(_sub(entry, "author"), "name", name)
        if item.get("section"):
            _sub(entry, "category", term=item["section"])
    return _xml(root)


def sitemap_index(*, entries: list[tuple[str, str | None]]) -> bytes:
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP_NS})
    for loc, lastmod in entries:
        sm = _sub(root, "sitemap")
        _sub(sm, "loc", loc)
        if lastmod:
            _sub(sm, "lastmod", lastmod)
    return _xml(root)


def urlset(*, items: list[dict[str, Any]], base_url: str) -> bytes:
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for item in items:
        url = _sub(root, "url")
        _sub(url, "loc", base_url + item["path"])
        _sub(url, "lastmod", _when(item).isoformat())
    return _xml(root)


def news_urlset(*, items: list[dict[str, Any]], base_url: str, publication: str) -> bytes:
    """Google News sitemap: publication name and language, date and title per article."""
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS, "xmlns:news": NEWS_NS})
    for item in items:
        url = _sub(root, "url")
        _sub(url, "loc", base_url + item["path"])
        news = _sub(url, "news:news")
        pub = _sub(news, "news:publication")
        _sub(pub, "news:name", publication)
        _sub(pub, "news:language", item.get("language") or "id")
        published = parse_dt(item.get("published_at"))
        _sub(news, "news:publication_date", (published or datetime.now(UTC)).isoformat())
        _sub(news, "news:title", item.get("title") or "")
    return _xml(root)
