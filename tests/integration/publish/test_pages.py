"""Reader pages against a real corpus in real Elasticsearch: every page type, 301/404/410, metadata, headers."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import quote

import httpx
from elasticsearch import Elasticsearch
from lxml import html as lxml_html

from shared.es import IndexNames
from tests.integration.publish.conftest import Corpus


def _doc(text: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(text)


def test_home_lists_latest_and_sections(publish: httpx.Client, corpus: Corpus) -> None:
    resp = publish.get("/")
    assert resp.status_code == 200
    doc = _doc(resp.text)
    assert doc.get("lang") == "id"
    assert doc.find(".//main") is not None and doc.find(".//header") is not None
    latest = doc.xpath("//section[@aria-labelledby='latest-h']//li/a")
    assert len(latest) == 10
    stamps = doc.xpath("//section[@aria-labelledby='latest-h']//time/@datetime")
    # Elasticsearch dates are millisecond-precise: compare at that precision (other tests' articles
    # can be published within the same millisecond).
    millis = [int(datetime.fromisoformat(s).timestamp() * 1000) for s in stamps]
    assert millis == sorted(millis, reverse=True)
    assert len(doc.xpath("//section[contains(@class,'home-section')]")) >= 3
    assert "Terbaru" in resp.text


def test_english_ui_with_lang_en(publish: httpx.Client, corpus: Corpus) -> None:
    resp = publish.get("/", params={"lang": "en"})
    doc = _doc(resp.text)
    assert doc.get("lang") == "en"
    assert "Latest" in resp.text and "Skip to content" in resp.text
    # Internal links keep the language.
    assert all("lang=en" in a.get("href") for a in doc.xpath("//section//li/a"))


def test_section_page_paginates(publish: httpx.Client, corpus: Corpus) -> None:
    # The busiest section is the first one on the home page.
    section = _doc(publish.get("/").text).xpath("//section[contains(@class,'home-section')]//h2/a")[0]
    first = publish.get(section.get("href"))
    assert first.status_code == 200
    doc = _doc(first.text)
    assert doc.xpath("//h1")[0].text_content() == section.text_content()
    nxt = doc.xpath("//a[@rel='next']/@href")
    assert nxt and "page=2" in nxt[0]
    second = publish.get(nxt[0])
    assert second.status_code == 200
    titles_1 = {a.text_content() for a in doc.xpath("//ul[@class='stories']//a")}
    titles_2 = {a.text_content() for a in _doc(second.text).xpath("//ul[@class='stories']//a")}
    assert titles_1 and titles_2 and not titles_1 & titles_2
    assert publish.get(section.get("href"), params={"page": 499}).status_code == 404
    assert publish.get("/teknologi").status_code == 200
    assert publish.get("/tidak-ada-rubrik").status_code == 404


def test_tag_and_author_pages(publish: httpx.Client, corpus: Corpus) -> None:
    tag = publish.get("/topik/" + quote("pusat data"))
    assert tag.status_code == 200 and "Pemerintah menetapkan kebijakan baru" in tag.text
    author = publish.get("/penulis/" + quote("Rina Wulandari"))
    assert author.status_code == 200 and "Pemerintah menetapkan kebijakan baru" in author.text
    assert publish.get("/topik/tidak-ada-topik-ini").status_code == 404


def test_article_page_content_and_metadata(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    article = corpus.doc(es, names, "featured")
    resp = publish.get(article["path"])
    assert resp.status_code == 200
    doc = _doc(resp.text)
    assert doc.xpath("//h1")[0].text_content() == article["title"]
    assert "Kebijakan itu mengatur penyimpanan data publik" in doc.xpath("//p[@class='dek']")[0].text_content()
    # Indonesian long date, Jakarta time.
    assert re.search(r"(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu), \d{1,2} \w+ \d{4} · \d{2}\.\d{2} WIB", resp.text)
    assert "Rina Wulandari" in resp.text and "JAKARTA" in resp.text
    assert doc.xpath("//p[@class='baca-juga']/a"), "inline related link after an early paragraph"
    assert doc.xpath("//section[@class='related']//li/a")
    assert [a.text_content() for a in doc.xpath("//nav[@class='tags']//a")] == ["pusat data", "kebijakan publik"]
    assert doc.xpath("//figure//img/@alt") == ["Ruang server"]

    canonical = doc.xpath("//link[@rel='canonical']/@href")[0]
    assert canonical.endswith(article["path"])
    meta = {m.get("property") or m.get("name"): m.get("content") for m in doc.xpath("//meta")}
    assert meta["og:title"] == article["title"] and meta["og:type"] == "article"
    assert meta["og:url"] == canonical and meta["og:image"].startswith("https://")
    assert meta["twitter:card"] == "summary_large_image"
    ld = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
    assert ld["@type"] == "NewsArticle" and ld["headline"] == article["title"]
    assert ld["datePublished"] == article["published_at"] and ld["dateModified"] == article["updated_at"]
    assert [a["name"] for a in ld["author"]] == ["Rina Wulandari", "Budi Santoso"]
    assert ld["articleSection"] == "Teknologi" and ld["image"] and ld["publisher"]["name"] == "Kabar"


def test_corpus_article_page(publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames) -> None:
    uid = corpus.known_items[0]["uid"]
    article = es.get(index=names.articles, id=uid)["_source"]
    resp = publish.get(article["path"])
    assert resp.status_code == 200 and article["title"] in _doc(resp.text).xpath("//h1")[0].text_content()
    assert "WIB" in resp.text


def test_title_change_redirects_old_url(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    current = corpus.doc(es, names, "renamed")
    resp = publish.get(corpus.old_path, follow_redirects=False)
    assert resp.status_code == 301 and resp.headers["location"] == current["path"]
    assert publish.get(current["path"]).status_code == 200


def test_withdrawn_and_deleted_are_gone(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    for key in ("withdrawn", "deleted"):
        doc = corpus.doc(es, names, key)
        page = publish.get(doc["path"])
        assert page.status_code == 410 and page.headers["content-type"].startswith("text/html")
        assert "sudah tidak tersedia" in page.text
        api = publish.get(f"/api/v1/articles/{doc['uid']}")
        assert api.status_code == 410 and api.headers["content-type"] == "application/problem+json"


def test_not_found_pages(publish: httpx.Client, corpus: Corpus) -> None:
    page = publish.get("/teknologi/2021/01/01/tidak-ada-0123456789abcdef")
    assert page.status_code == 404 and "tidak ditemukan" in page.text and "<main" in page.text
    assert publish.get("/a/b/c").status_code == 404
    assert publish.get("/favicon.ico").status_code == 404
    api = publish.get("/api/v1/articles/0123456789abcdef")
    assert api.status_code == 404 and api.json()["status"] == 404
    assert publish.get("/api/v1/nope").headers["content-type"] == "application/problem+json"
    assert "Page not found" in publish.get("/nope/x", params={"lang": "en"}).text


def test_xss_article_is_sanitised(publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames) -> None:
    doc = corpus.doc(es, names, "xss")
    resp = publish.get(doc["path"])
    assert resp.status_code == 200
    assert "onerror" not in resp.text and "javascript:" not in resp.text
    assert "<script>alert" not in resp.text and "window.__xss" not in resp.text
    # Markup in a title is stripped at ingest: the headline is its text, shown escaped.
    [headline] = _doc(resp.text).xpath("//h1")
    assert headline.text_content().strip() == "Uji keamanan alert('judul') halaman berita"
    assert "alert(&#39;judul&#39;)" in resp.text


def test_security_headers(publish: httpx.Client, corpus: Corpus) -> None:
    for path in ("/", "/cari?q=data", "/api/v1/search?q=data", "/tidak/ada"):
        headers = publish.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]


def test_conditional_get(publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames) -> None:
    path = corpus.doc(es, names, "featured")["path"]
    for url in (path, "/", "/teknologi", "/rss.xml", "/teknologi/atom.xml", "/sitemap.xml"):
        first = publish.get(url)
        assert first.status_code == 200, url
        assert "max-age" in first.headers["cache-control"]
        etag = first.headers["etag"]
        again = publish.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert publish.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200
    first = publish.get(path)
    since = publish.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert publish.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_static_css_and_script(publish: httpx.Client, corpus: Corpus) -> None:
    assert publish.get("/static/kabar.css").status_code == 200
    assert publish.get("/static/suggest.js").status_code == 200
