"""Text cleaning on the seed article (its raw page text and its parsed JSON) and on corpus samples."""

from __future__ import annotations

import json

import pytest

from shared.corpora import scrapper, shared_data_dir, summarization
from shared.text import body_to_safe_html, clean_body, remove_boilerplate, strip_tags

DATA = shared_data_dir()
SEED_JSON = DATA / "seed" / "channel9-rusia-nato.json"
SEED_TXT = DATA / "seed" / "channel9-rusia-nato.txt"
TITLE = "Rusia Pertimbangkan NATO Mengenai Pertemuan di Bulan Januari"
LINK = "Rusia Desak AS Untuk Berikan Respon Jaminan Keamanan"


def test_seed_page_text_loses_furniture_and_keeps_the_story() -> None:
    page = body_to_safe_html(body=SEED_TXT.read_text(), paragraphs=None)
    body = clean_body(page, title=TITLE, section="Internasional")
    for furniture in ("Tinggalkan Balasan", "Alamat email", "Ruas yang wajib", "29", "(RAG)", "Baca juga"):
        assert furniture not in body.text
        assert furniture not in body.html
    # The repeated headline and the section label above the story are gone; the story starts at once.
    assert body.text.startswith("Channel9.id-Rusia. Rusia telah menerima proposal")
    assert body.text.rstrip().endswith("sanksi yang ia maksud.")
    assert "mempertimbangkannya" in body.text
    assert [link.text for link in body.links] == [LINK]


def test_seed_json_baca_juga_line_is_cut_and_kept_as_a_link() -> None:
    seed = json.loads(SEED_JSON.read_text())
    body = clean_body(body_to_safe_html(body=None, paragraphs=seed["body_paragraphs"]), title=seed["title"])
    assert [link.text for link in body.links] == [LINK]
    assert LINK not in body.text
    assert len(body.text.split("\n\n")) == len(seed["body_paragraphs"]) - 1


def test_baca_juga_anchor_keeps_href() -> None:
    html = '<p>Isi berita.</p><p>Baca juga: <a href="https://x.id/a/1">Judul Lama</a></p><p>Lanjutan.</p>'
    body = clean_body(html)
    assert body.links[0].text == "Judul Lama"
    assert body.links[0].href == "https://x.id/a/1"
    assert body.text == "Isi berita.\n\nLanjutan."


@pytest.mark.parametrize(
    "line",
    [
        "SCROLL TO CONTINUE WITH CONTENT",
        "Tinggalkan Balasan",
        "Alamat email Anda tidak akan dipublikasikan. Ruas yang wajib ditandai *",
        "  +  29  =  35",
        "Bagikan: Facebook Twitter WhatsApp",
        "Share this article",
        "ADVERTISEMENT",
    ],
)
def test_boilerplate_lines_vanish(line: str) -> None:
    assert remove_boilerplate(line) == ""


def test_double_escaped_entities_are_decoded_in_text_and_html() -> None:
    body = clean_body("<p>AT&amp;amp;T menyebut &amp;quot;tarif&amp;quot; naik</p>")
    assert body.text == 'AT&T menyebut "tarif" naik'
    assert "&amp;quot;" not in body.html
    assert strip_tags("&amp;lt;b&amp;gt;") == "<b>"


def test_summarization_corpus_loses_scroll_marker() -> None:
    rows = [a for _, a in zip(range(50), summarization(DATA / "raw"), strict=False)]
    marked = [a for a in rows if any("SCROLL TO CONTINUE" in p for p in a["body_paragraphs"])]
    assert marked
    for article in marked:
        body = clean_body(body_to_safe_html(body=None, paragraphs=article["body_paragraphs"]))
        assert "SCROLL TO CONTINUE" not in body.text
        assert len(body.text) > 200


def test_scrapper_corpus_baca_juga_lines_never_reach_the_text() -> None:
    with_links = 0
    for article in scrapper(DATA / "raw"):
        body = clean_body(body_to_safe_html(body=None, paragraphs=article["body_paragraphs"]))
        for link in body.links:
            assert link.text not in body.text
        with_links += bool(body.links)
    assert with_links >= 100


def test_xml_invalid_characters_never_survive_sanitising_or_feeds() -> None:
    from xml.etree import ElementTree as ET

    from services.publish.feeds import rss
    from shared.text import sanitize_html

    assert sanitize_html("<p>a\x02b\x00c\tok</p>") == "<p>abc\tok</p>"
    item = {
        "uid": "u1",
        "title": "Judul",
        "path": "/a/2026/01/01/judul-u1",
        "body_text": "isi\x02 rusak\x1f",
        "published_at": "2026-01-01T10:00:00+07:00",
    }
    feed = rss(
        items=[item], title="Kabar", link="http://x/", self_url="http://x/rss.xml", base_url="http://x", language="id"
    )
    ET.fromstring(feed)  # well-formed
