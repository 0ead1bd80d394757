"""Feeds and sitemaps parse as XML with the structure readers and crawlers expect."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
from elasticsearch import Elasticsearch
from lxml import etree

from shared.es import IndexNames
from tests.integration.publish.conftest import SITEMAP_MAX_URLS, Corpus

ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def test_rss_home_and_section(publish: httpx.Client, corpus: Corpus) -> None:
    for path in ("/rss.xml", "/teknologi/rss.xml"):
        resp = publish.get(path)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/rss+xml")
        root = etree.fromstring(resp.content)
        assert root.tag == "rss" and root.get("version") == "2.0"
        channel = root.find("channel")
        assert channel.findtext("title") and channel.findtext("link") and channel.findtext("description")
        items = channel.findall("item")
        assert items
        for item in items:
            assert item.findtext("title") and item.findtext("link").startswith("http")
            assert item.findtext("guid") and item.findtext("pubDate")
    section_items = etree.fromstring(publish.get("/teknologi/rss.xml").content).findall("channel/item")
    assert all(i.findtext("category") == "Teknologi" for i in section_items)
    assert publish.get("/tidak-ada/rss.xml").status_code == 404


def test_atom_home_and_section(publish: httpx.Client, corpus: Corpus) -> None:
    for path in ("/atom.xml", "/teknologi/atom.xml"):
        resp = publish.get(path)
        assert resp.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(resp.content)
        assert root.tag == f"{ATOM}feed"
        assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}updated")
        entries = root.findall(f"{ATOM}entry")
        assert entries
        for entry in entries:
            for child in ("id", "title", "updated"):
                assert entry.findtext(f"{ATOM}{child}"), child
            assert entry.find(f"{ATOM}link").get("href").startswith("http")


def test_sitemap_index_splits_and_lists_every_article(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    root = ET.fromstring(publish.get("/sitemap.xml").content)
    assert root.tag == f"{SM}sitemapindex"
    locs = [s.findtext(f"{SM}loc") for s in root.findall(f"{SM}sitemap")]
    assert any(loc.endswith("/sitemaps/news.xml") for loc in locs)
    urls: list[str] = []
    biggest = 0
    for loc in locs:
        if loc.endswith("news.xml"):
            continue
        resp = publish.get("/" + loc.split("/", 3)[3])
        assert resp.status_code == 200, loc
        urlset = ET.fromstring(resp.content)
        assert urlset.tag == f"{SM}urlset"
        entries = urlset.findall(f"{SM}url")
        biggest = max(biggest, len(entries))
        assert len(entries) <= SITEMAP_MAX_URLS
        urls += [u.findtext(f"{SM}loc") for u in entries]
        assert all(u.findtext(f"{SM}lastmod") for u in entries)
    published = es.count(index=names.articles, query={"term": {"status": "published"}})["count"]
    assert len(urls) == len(set(urls)) == published
    assert any("-2.xml" in loc for loc in locs), "a month above the split size has a second part"
    assert publish.get("/sitemaps/1999-01.xml").status_code == 404
    assert publish.get("/sitemaps/nope.xml").status_code == 404


def test_google_news_sitemap(publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames) -> None:
    root = ET.fromstring(publish.get("/sitemaps/news.xml").content)
    assert root.tag == f"{SM}urlset"
    entries = root.findall(f"{SM}url")
    locs = [e.findtext(f"{SM}loc") for e in entries]
    assert any(loc.endswith(corpus.doc(es, names, "featured")["path"]) for loc in locs)
    assert not any(loc.endswith(corpus.doc(es, names, "withdrawn")["path"]) for loc in locs)
    for entry in entries:
        news = entry.find(f"{NEWS}news")
        assert news.findtext(f"{NEWS}publication/{NEWS}name") == "Kabar"
        assert news.findtext(f"{NEWS}publication/{NEWS}language")
        assert news.findtext(f"{NEWS}publication_date") and news.findtext(f"{NEWS}title")


def test_robots_txt(publish: httpx.Client, corpus: Corpus) -> None:
    resp = publish.get("/robots.txt")
    assert resp.status_code == 200 and "Sitemap: " in resp.text and "/sitemap.xml" in resp.text
    assert "Disallow: /api/" in resp.text
