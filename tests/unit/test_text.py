"""Text cleaning on the seed article (its raw page text and its parsed JSON) and on corpus samples."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.article import prepare_article
from shared.corpora import scrapper, shared_data_dir, summarization
from shared.models import ArticleIn
from shared.text import (
    _BACA_JUGA,
    InlineLink,
    body_to_safe_html,
    clean_body,
    cut_inline_link,
    cut_inline_links,
    normalise_title,
    remove_boilerplate,
    strip_tags,
)

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


# ---- "Baca juga" anywhere in a paragraph ------------------------------------------------------------

FLAT = (
    "Warga antre sejak pagi di depan loket petugas. Baca juga: Mulai Hari Ini Tarif Naik Setuju! "
    "Pengunggah mengatakan antrean sudah panjang sejak subuh."
)


def _flat(text: str) -> str:
    return body_to_safe_html(body=None, paragraphs=[text])


def _assert_offsets_exact(body_text: str, links: list[InlineLink]) -> None:
    for link in links:
        if link.offset is not None:
            assert _BACA_JUGA.match(body_text, link.offset), body_text[link.offset : link.offset + 40]
            assert body_text[_BACA_JUGA.match(body_text, link.offset).end() :].startswith(link.text)  # type: ignore[union-attr]


def test_marker_mid_paragraph_is_found_and_the_text_left_as_written() -> None:
    body = clean_body(_flat(FLAT))
    offset = FLAT.index("Baca juga")
    assert body.links == [InlineLink(text=FLAT[FLAT.index("Mulai") :], href=None, offset=offset)]
    assert body.text == FLAT  # the title's end is not known yet: nothing is cut
    assert "Baca juga: Mulai Hari Ini" in body.html  # readers see what the newsroom wrote
    _assert_offsets_exact(body.text, body.links)


@pytest.mark.parametrize(
    "marker", ["baca juga", "BACA JUGA", "Baca Juga:", "bAcA jUgA -", "Baca pula:", "Simak juga:", "simak JUGA —"]
)
def test_marker_in_any_letter_case(marker: str) -> None:
    body = clean_body(_flat(f"Harga naik lagi. {marker} Tarif Listrik Turun pekan depan."))
    assert [link.text for link in body.links] == ["Tarif Listrik Turun pekan depan."]
    assert body.text[body.links[0].offset or 0 :].startswith(marker.split()[0])


def test_glued_sindonews_marker_is_found() -> None:
    text = "Jumlah Perempuan Lebih Banyak daripada Laki-lakiBaca Juga: 10 Negara Paling Bugar di Dunia 1. Moldova"
    body = clean_body(_flat(text))
    assert [(link.text, link.offset) for link in body.links] == [
        ("10 Negara Paling Bugar di Dunia 1. Moldova", text.index("Baca Juga"))
    ]
    for glued in ("pasar.Baca juga: Judul Baru", "lakiBACA JUGA: Judul Baru", 'katanya."Baca Juga: Judul Baru'):
        assert [link.text for link in clean_body(_flat(glued)).links] == ["Judul Baru"]


@pytest.mark.parametrize(
    "text",
    [
        "Anak-anak yang membaca juga mendapat hadiah dari sekolah.",
        "Mereka membaca: buku, koran dan majalah.",
        "Ia suka bacaan juga, katanya.",
        "Petugas lakibaca juga ikut.",  # glued only when capitalised
        "Sekolah mewajibkan baca tulis sejak dini.",
    ],
)
def test_words_that_only_look_like_markers(text: str) -> None:
    body = clean_body(_flat(text))
    assert body.links == []
    assert body.text == text


def test_bare_baca_needs_a_colon() -> None:
    body = clean_body(_flat("Harga cabai naik. Baca: Petani Cabai Untung Besar Tahun Ini, kata warga."))
    assert [link.text for link in body.links] == ["Petani Cabai Untung Besar Tahun Ini, kata warga."]
    assert clean_body(_flat("Harga cabai naik. Baca berita lain di sini.")).links == []
    # Opening a paragraph, it is a link line like "Baca juga".
    line = clean_body("<p>Isi.</p><p>Baca: Petani Cabai Untung</p>")
    assert (line.text, [link.text for link in line.links]) == ("Isi.", ["Petani Cabai Untung"])


def test_anchor_right_after_a_mid_paragraph_marker_is_cut_at_once() -> None:
    html = (
        "<p>Isi berita.</p><p>Warga antre di loket. <strong>Baca&nbsp;juga:</strong> "
        '<a href="https://x.id/a/1">Tarif <b>Naik</b> Lagi</a> Pengunggah mengatakan antrean panjang.</p>'
    )
    body = clean_body(html)
    assert body.links == [InlineLink(text="Tarif Naik Lagi", href="https://x.id/a/1", offset=None)]
    assert body.text == "Isi berita.\n\nWarga antre di loket. Pengunggah mengatakan antrean panjang."
    for gone in ("Baca", "Tarif", "x.id"):
        assert gone not in body.html
    assert "Pengunggah mengatakan antrean panjang." in body.html and body.html.count("<p>") == 2


def test_marker_with_an_anchor_further_on_is_not_cut() -> None:
    html = '<p>Warga antre. Baca juga: Tarif naik, kata <a href="https://x.id/p">petugas</a> loket.</p>'
    body = clean_body(html)
    assert body.text == "Warga antre. Baca juga: Tarif naik, kata petugas loket."
    assert body.links == [InlineLink(text="Tarif naik, kata petugas loket.", offset=13)]
    assert 'href="https://x.id/p"' in body.html


def test_every_marker_of_a_paragraph_in_order() -> None:
    html = (
        "<p>Pembuka.</p><p>Harga naik. Baca juga: Judul Satu Lalu warga protes. "
        '<em>Simak juga</em> <a href="/dua">Judul Dua</a> Setelah itu BACA JUGA - Judul Tiga dan seterusnya.'
        "Baca juga: Judul Empat</p>"
    )
    body = clean_body(html)
    assert [(link.text, link.href) for link in body.links] == [
        ("Judul Satu Lalu warga protes.", None),
        ("Judul Dua", "/dua"),
        ("Judul Tiga dan seterusnya.", None),
        ("Judul Empat", None),
    ]
    assert [link.offset is None for link in body.links] == [False, True, False, False]
    assert body.text == (
        "Pembuka.\n\nHarga naik. Baca juga: Judul Satu Lalu warga protes. Setelah itu BACA JUGA - Judul Tiga "
        "dan seterusnya.Baca juga: Judul Empat"
    )
    _assert_offsets_exact(body.text, body.links)


def test_offsets_index_the_joined_text_exactly() -> None:
    paragraphs = [
        "Judul Berita Ini",  # the repeated headline, dropped
        "Pembuka berita yang cukup panjang.",
        "Baca juga: Baris Tautan Saja",  # a link line, dropped
        "SCROLL TO CONTINUE WITH CONTENT",
        "Tengah cerita. Baca juga: Judul A Lanjut cerita. Simak juga: Judul B",
        "Penutup dengan baca pula Judul C.",
    ]
    body = clean_body(body_to_safe_html(body=None, paragraphs=paragraphs), title="Judul Berita Ini")
    assert body.text.split("\n\n") == [paragraphs[1], paragraphs[4], paragraphs[5]]
    assert [link.text for link in body.links] == [
        "Baris Tautan Saja",
        "Judul A Lanjut cerita.",
        "Judul B",
        "Judul C.",
    ]
    assert body.links[0].offset is None
    _assert_offsets_exact(body.text, body.links)


def test_paragraph_start_marker_keeps_todays_behaviour() -> None:
    # A short line goes with its link; with an anchor the anchor is the link, whatever its length.
    short = clean_body("<p>Isi.</p><p>Baca juga: Judul Lama</p><p>Lanjutan.</p>")
    assert (short.text, short.links) == ("Isi.\n\nLanjutan.", [InlineLink(text="Judul Lama")])
    long_anchor = "<p>Isi.</p><p>Baca juga: " + "kata " * 60 + '<a href="/x">Judul</a></p>'
    body = clean_body(long_anchor)
    assert (body.text, body.links) == ("Isi.", [InlineLink(text="Judul", href="/x")])
    assert "kata" not in body.html


def test_long_flat_paragraph_opening_with_a_marker_keeps_its_rest_at_the_offset() -> None:
    rest = "Mulai Hari Ini, Tarif Naik Pengunggah mengatakan antrean panjang " + "sejak subuh tadi. " * 10
    body = clean_body(f"<p>Isi.</p><p>Baca juga: {rest}</p><p>Penutup.</p>")
    (link,) = body.links
    assert link == InlineLink(text=rest.strip()[:300], offset=len("Isi.\n\n"))
    assert body.text == "Isi.\n\n" + rest.strip() + "\n\nPenutup."
    assert body.text[link.offset or 0 :].startswith(link.text)
    assert "Mulai" not in body.html  # the line itself still leaves what readers see
    cut = cut_inline_link(body.text, link.offset or 0, "Mulai hari ini: tarif naik")
    assert (
        cut
        == "Isi.\n\nPengunggah mengatakan antrean panjang " + "sejak subuh tadi. " * 9 + "sejak subuh tadi.\n\nPenutup."
    )


def test_prepare_keeps_the_offset_of_an_uncut_inline_link() -> None:
    article = ArticleIn.model_validate({"external_id": "a-1", "title": "Judul", "body": f"<p>{FLAT}</p>"})
    prepared = prepare_article(newsroom="kabar", article=article, version=1)
    assert [link.model_dump(exclude_none=True) for link in prepared.editor_links] == [
        {"title": FLAT[FLAT.index("Mulai") :], "inline": True, "offset": FLAT.index("Baca juga")}
    ]


# ---- cutting a resolved title out ----------------------------------------------------------------------


def test_cut_inline_link_takes_the_marker_and_exactly_the_title() -> None:
    offset = FLAT.index("Baca juga")
    assert cut_inline_link(FLAT, offset, "Mulai Hari Ini, Tarif Naik") == (
        "Warga antre sejak pagi di depan loket petugas. Setuju! Pengunggah mengatakan antrean sudah panjang "
        "sejak subuh."
    )


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        # Diacritics, case, punctuation and blank runs fold away on either side.
        ("Ia datang. Baca juga: Cafe Creme Brulee Laris Manis di Bandung lalu pergi.",
         "Café Crème Brûlée: Laris-Manis di BANDUNG!", "Ia datang. lalu pergi."),
        ("Ia datang. Baca juga: Café   crème, brûlée laris manis di Bandung! Lalu pergi.",
         "cafe creme brulee laris manis di bandung", "Ia datang. Lalu pergi."),
        # The punctuation that ends the title, and its closing quote, go with it.
        ('Ia datang. Baca juga: "Tarif Naik Lagi?" Warga protes.', "Tarif naik lagi", "Ia datang. Warga protes."),
        ("Ia datang. Baca juga – “Tarif Naik Lagi”, warga protes.", "Tarif naik lagi", "Ia datang. warga protes."),
        ("Ia datang. Baca juga: Tarif Naik - Warga protes.", "Tarif naik", "Ia datang. Warga protes."),
        # The glued form: the sentence before gets its space back.
        ("Laki-lakiBaca Juga: 10 Negara Paling Bugar di Dunia 1. Moldova", "10 Negara Paling Bugar di Dunia",
         "Laki-laki 1. Moldova"),
        # A title that ends the paragraph, or the text.
        ("Ia datang. Baca juga: Tarif Naik\n\nParagraf lain.", "Tarif Naik", "Ia datang.\n\nParagraf lain."),
        ("Ia datang. Baca juga: Tarif Naik.", "Tarif Naik", "Ia datang."),
        ("Baca juga: Tarif Naik", "Tarif Naik", ""),
    ],
)  # fmt: skip
def test_cut_inline_link_folds_as_normalise_title(text: str, title: str, expected: str) -> None:
    assert cut_inline_link(text, text.index("Baca"), title) == expected


@pytest.mark.parametrize(
    ("offset", "title"),
    [
        (FLAT.index("Baca juga"), "Mulai Hari Ini, Tarif Turun"),  # another title
        (FLAT.index("Baca juga"), "Mulai Hari Ini Tarif Nai"),  # ends inside a word
        (FLAT.index("Baca juga"), "Mulai Hari Ini Tarif Naik Setuju Pengunggah mengatakan antrean sudah panjang x"),
        (FLAT.index("Baca juga") + 1, "Mulai Hari Ini Tarif Naik"),  # not at a marker
        (FLAT.index("Mulai"), "Mulai Hari Ini Tarif Naik"),  # the title itself, no marker before it
        (len(FLAT) + 5, "Mulai"),
        (-1, "Mulai"),
        (FLAT.index("Baca juga"), "!!"),  # folds to nothing
        # At a paragraph's start the marker may be gone already (a long line that opened with it): the
        # title must then stand right there.
        (0, "Warga antre sejak siang"),
    ],
)
def test_stale_offset_or_other_title_cuts_nothing(offset: int, title: str) -> None:
    assert cut_inline_link(FLAT, offset, title) is None


def test_title_never_runs_into_the_next_paragraph() -> None:
    text = "Ia datang. Baca juga: Tarif Naik\n\nLagi pula warga protes."
    assert cut_inline_link(text, text.index("Baca"), "Tarif Naik Lagi") is None


def test_cut_inline_links_applies_several_and_skips_stale_ones() -> None:
    text = (
        "Pembuka. Baca juga: Judul Satu Warga protes.\n\n"
        "Tengah. Simak juga: Judul Dua Lalu pergi. Baca juga: Judul Tiga\n\nAkhir."
    )
    cuts = [
        (text.index("Simak"), "Judul Dua"),
        (text.index("Baca juga: Judul Satu"), "Judul Satu"),
        (text.index("Baca juga: Judul Tiga"), "Judul Tiga"),
        (text.index("Warga"), "Warga protes"),  # stale: no marker there
        (text.index("Simak"), "Judul Dua Lalu"),  # the same offset again: the one applied wins
    ]
    assert cut_inline_links(text, cuts) == "Pembuka. Warga protes.\n\nTengah. Lalu pergi.\n\nAkhir."
    sequential = text
    for offset, title in sorted(cuts[:3], reverse=True):
        sequential = cut_inline_link(sequential, offset, title) or sequential
    assert cut_inline_links(text, cuts) == sequential
    assert cut_inline_links(text, []) == text


def test_flat_body_found_and_cut_end_to_end() -> None:
    body = clean_body(_flat(FLAT + " Baca juga: Harga Cabai Turun Petani rugi."))
    titles = ["Mulai Hari Ini, Tarif Naik", "Harga Cabai Turun"]
    cuts = []
    for link in body.links:
        # As the index worker resolves it: a known title that is a prefix of the link text.
        known = next(t for t in titles if normalise_title(link.text).startswith(normalise_title(t)))
        assert link.offset is not None
        cuts.append((link.offset, known))
    assert cut_inline_links(body.text, cuts) == (
        "Warga antre sejak pagi di depan loket petugas. Setuju! Pengunggah mengatakan antrean sudah panjang "
        "sejak subuh. Petani rugi."
    )


def test_scrapper_corpus_links_are_found_in_flat_bodies_too() -> None:
    paragraph_links = flat_links = found = 0
    for article in scrapper(DATA / "raw"):
        paragraphs = article["body_paragraphs"]
        by_paragraph = clean_body(body_to_safe_html(body=None, paragraphs=paragraphs))
        flat = clean_body(body_to_safe_html(body=None, paragraphs=[" ".join(paragraphs)]))
        assert len(flat.links) >= len(by_paragraph.links), article["external_id"]
        _assert_offsets_exact(flat.text, flat.links)
        flat_titles = [normalise_title(link.text) for link in flat.links]
        for link in by_paragraph.links:
            head = normalise_title(link.text)[:40]
            found += any(title.startswith(head) for title in flat_titles)
        paragraph_links += len(by_paragraph.links)
        flat_links += len(flat.links)
    assert paragraph_links >= 100
    assert found >= 0.95 * paragraph_links


TITLE_WORDS = ["Tarif", "naik", "Café", "crème", "10", "Persen,", "“Kata”", "Rp 5.000", "Jakarta—Bandung", "Lagi?"]
SENTENCE_WORDS = ["Warga", "protes", "di", "Jakarta.", "Harga", "cabai", "turun!", "“Kami", "siap,”", "katanya."]
MARKERS = ["Baca juga:", "baca juga", "BACA JUGA -", "Simak juga:", "Baca:", "Baca pula —"]
words = st.lists(st.sampled_from(SENTENCE_WORDS), min_size=1, max_size=6).map(" ".join)
titles = st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=5).map(" ".join)


@settings(max_examples=200, deadline=None, database=None)
@given(
    first=words,
    rest=st.lists(st.tuples(st.sampled_from(MARKERS), titles, st.one_of(st.just(""), words)), max_size=6),
)
def test_flat_links_found_then_cut_leave_the_story(first: str, rest: list[tuple[str, str, str]]) -> None:
    # A flat paragraph of sentences with links between them: clean_body finds each link where it stands,
    # and with the titles resolved (in any case, without diacritics) cutting them leaves the sentences.
    text = " ".join([first, *(f"{marker} {title} {after}".strip() for marker, title, after in rest)])
    body = clean_body(_flat(text))
    assert body.text == text
    assert len(body.links) == len(rest)
    _assert_offsets_exact(body.text, body.links)
    cuts = []
    for link, (_, title, _) in zip(body.links, rest, strict=True):
        assert link.offset is not None and normalise_title(link.text).startswith(normalise_title(title))
        cuts.append((link.offset, normalise_title(title).upper()))
    assert cut_inline_links(body.text, cuts) == " ".join([first, *(after for _, _, after in rest if after)])


def test_a_title_glued_to_the_next_line_by_a_scraper_is_cut() -> None:
    text = "Prabowo hadir. Baca juga: Prabowo kunjungi Ponpes bahas UU PesantrenPewarta: Dian"
    assert cut_inline_link(text, text.index("Baca"), "Prabowo kunjungi Ponpes bahas UU Pesantren") == (
        "Prabowo hadir. Pewarta: Dian"
    )
    # Lower case after the title is still a word the title ends inside: nothing is cut.
    inside = "Prabowo hadir. Baca juga: Harga beras naiknya terasa"
    assert cut_inline_link(inside, inside.index("Baca"), "Harga beras naik") is None
