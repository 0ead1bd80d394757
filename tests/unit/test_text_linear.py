"""Text handling stays linear: adversarial bodies of up to 500 KB finish within a fixed time budget.

The budget (1.75 s at 500 KB, where the worst input found takes under 0.5 s) leaves room for a busy
2-core machine and is still far below a quadratic or cubic blow-up, which at that size takes from
seconds to hours. The patterns that were rewritten for this are also checked against the originals on
small inputs, where the originals are fast, so behaviour stays the same.
"""

from __future__ import annotations

import contextlib
import html
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.ingest import ninjs
from services.publish import service as publish_service
from services.publish.routes import feeds as feed_routes
from shared import text
from shared.models import ArticleIn

KB = 1000


def budget(size: int) -> float:
    """Seconds a call on size characters may take."""
    return 0.25 + 3e-6 * size


def assert_within_budget(name: str, call: Callable[[], Any], size: int) -> None:
    """One call stays within budget; a call just over it gets a second try (the machine is shared)."""
    limit = budget(size)
    took = _timed(call)
    if limit < took < 10 * limit:
        took = min(took, _timed(call))
    assert took <= limit, f"{name} took {took:.3f} s on {size:,} characters (budget {limit:.3f} s)"


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# ---- the cases in the issue, and the ones found while fixing it -------------------------------------


def test_share_line_of_em_spaces_is_cleaned_in_linear_time() -> None:
    body = "Share" + "\u2003" * 400 + "!"
    assert_within_budget("clean_body", lambda: text.clean_body(body), len(body))
    assert text.clean_body(body).text == "Share !"  # not furniture (it ends in "!"), spaces collapsed


@pytest.mark.parametrize(
    "function",
    [
        text.looks_like_html,
        text.strip_tags,
        lambda body: text.body_to_safe_html(body=body, paragraphs=None),
    ],
    ids=["looks_like_html", "strip_tags", "body_to_safe_html"],
)
def test_unclosed_anchor_prefixes_are_read_in_linear_time(function: Callable[[str], Any]) -> None:
    body = "<a" * 200_000
    assert_within_budget("call", lambda: function(body), len(body))


@pytest.mark.parametrize(
    ("name", "call", "body"),
    [
        # Each of these took from a second to over 15 minutes before: NFKD's sort of combining marks,
        # html5ever's scope walks, attribute checks and re-created formatting, the "Baca juga" anchor
        # regex, and the math captcha pattern (quartic in its whitespace runs).
        ("normalise_title", text.normalise_title, "a" + "\u0301\u0316" * 40_000),
        ("sanitize_html", text.sanitize_html, "<div>" * 40_000),
        ("sanitize_html", text.sanitize_html, "<p " + " ".join(f"a{i}" for i in range(60_000)) + ">x"),
        ("sanitize_html", text.sanitize_html, "".join(f"<p><b id={i}></p>" for i in range(1_000))),
        ("clean_body", text.clean_body, "<p>Baca juga " + '<a href="x" ' * 20_000 + "</p>"),
        ("remove_boilerplate", text.remove_boilerplate, " " * 100 + "+" + " " * 100 + "=" + " " * 100 + "!"),
    ],
    ids=["combining-marks", "nested-div", "many-attributes", "reopened-bold", "baca-juga-anchor", "captcha-spaces"],
)
def test_found_super_linear_cases_stay_in_budget(name: str, call: Callable[[str], Any], body: str) -> None:
    assert_within_budget(name, lambda: call(body), len(body))


def test_huge_numeric_reference_decodes_instead_of_raising() -> None:
    # html.unescape refuses decimal references over 4,300 digits; nh3 keeps them double-escaped.
    body = text.sanitize_html("<p>&amp;#" + "1" * 5_000 + ";</p>")
    assert text.strip_tags(body) == "\ufffd"
    assert text.clean_body(body).text == "\ufffd"


# ---- every function under adversarial bodies ---------------------------------------------------------

SPACES = sorted({c for c in map(chr, range(0x110000)) if c.isspace()} | {"\u200b", "\u2003", "\u00a0", "\u3000"})
# Literal pieces of every pattern, unclosed and nested markup, and what the sanitiser's parser minds.
PIECES = [
    "Share", "Bagikan", "Share this article on", "Bagikan ke", "Facebook", "Copy Link", ",", ":", "!",
    "SCROLL TO CONTINUE WITH CONTENT", "ADVERTISEMENT", "Tinggalkan Balasan", "Alamat email Anda tidak akan "
    "dipublikasikan.", "Ruas yang wajib ditandai *", "Time limit is exhausted.", "Simak juga video", "[Gambas:",
    "]", "Baca juga", "baca", "juga", "-", "+", "=", "x", "×", "7", "(AB/", "AB", "/", "(", ")",
    "Baca Juga:", "BACA JUGA", "lakiBaca Juga", "Baca:", "baca pula", "Simak juga", "membaca juga", "pula",
    "–", "—", "“", "”", "…", "?", ".", "&nbsp;", "</strong>",
    "<a", "<a ", "<a href='x'", '<a href="', "href=", "'", '"', ">", "</a>", "<", "</", "<!", "<!--", "-->",
    "<p>", "</p>", "<br", "<br ", "<hr/>", "<div>", "<blockquote>", "<ul><li>", "<li>", "<table><tr><td>",
    "<span>", "</x>", "<b>", "<b id=1>", "<p><b id=", "<i x", "<b title=\"", "<script>", "</script>",
    "&amp;", "&amp;quot;", "&#", "&#x", "&", "1", "é", "\u0301", "\u0316", "\ufb01", "\x00", "\x0b", "\n", "\n\n",
]  # fmt: skip
PREFIXES = [
    "", "<p>", "Share", "Bagikan:", "Baca juga: ", '<p>Baca juga <a href="x">', "(", "<div>", "+ ",
    "x. Baca juga: ", "Laki-lakiBaca Juga: ", '<p>x. <b>Baca juga:</b> <a href="x">',
]  # fmt: skip
SUFFIXES = ["", "!", "x", "</p>", ">", "</a>", ")", "=", "\n"]
SIZES = [1, 100, 1 * KB, 10 * KB, 100 * KB, 500 * KB]


@dataclass(frozen=True)
class Body:
    """An adversarial body by recipe: prefix, units repeated to about size characters, suffix."""

    prefix: str
    units: tuple[str, ...]
    size: int
    suffix: str

    @property
    def text(self) -> str:
        each = max(1, self.size // len(self.units) // max(1, max(len(u) for u in self.units)))
        return self.prefix + "".join(unit * each for unit in self.units) + self.suffix

    def __repr__(self) -> str:  # a failure shows the recipe, not 500 KB
        return f"Body({self.prefix!r} + {' + '.join(f'{u!r}*n' for u in self.units)} + {self.suffix!r}, ~{self.size})"


unit = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(SPACES)), min_size=1, max_size=5).map("".join)
bodies = st.builds(
    Body,
    prefix=st.sampled_from(PREFIXES),
    units=st.lists(unit, min_size=1, max_size=2).map(tuple),  # two units: e.g. n openings then n closings
    size=st.one_of(st.sampled_from(SIZES), st.integers(1, 20 * KB)),
    suffix=st.sampled_from(SUFFIXES),
)


def _cuts_at_every_marker(body: str) -> list[tuple[int, str]]:
    """A cut at each marker, for the title the text after it spells (up to 300 characters)."""
    return [(m.start(), body[m.end() : m.end() + 300]) for m in text._BACA_JUGA.finditer(body)]


def _article(body: str) -> None:
    fields = {"external_id": body, "title": body, "dek": body, "section": body, "language": body, "body": body}
    with contextlib.suppress(ValidationError):
        ArticleIn.model_validate(fields)


FUNCTIONS: dict[str, Callable[[str], Any]] = {
    "clean_body": lambda b: text.clean_body(b, title=b[:300], section=b[-100:]),
    "sanitize_html": text.sanitize_html,
    "body_to_safe_html": lambda b: text.body_to_safe_html(body=b, paragraphs=None),
    "body_to_safe_html(paragraphs)": lambda b: text.body_to_safe_html(body=None, paragraphs=b.split("\n")),
    "strip_tags": text.strip_tags,
    "looks_like_html": text.looks_like_html,
    "remove_boilerplate": text.remove_boilerplate,
    "html_paragraphs": text.html_paragraphs,
    "normalise_title": text.normalise_title,
    "slugify": text.slugify,
    "plain_text_to_html": text.plain_text_to_html,
    "strip_invalid_chars": text.strip_invalid_chars,
    "baca juga markers": text._markers,
    "baca juga before anchors": text._marked_anchors,
    # The body as a title that stands after a marker (read to its end), or almost does (read, then refused).
    "cut_inline_link": lambda b: text.cut_inline_link("Baca juga: " + b, 0, b),
    "cut_inline_link(almost)": lambda b: text.cut_inline_link("x Baca juga: " + b + " z", 2, b + " y"),
    "cut_inline_links": lambda b: text.cut_inline_links(b, _cuts_at_every_marker(b)),
    # Regexes elsewhere that see request data (pydantic's patterns run on the linear Rust regex crate).
    "ninjs external id": lambda b: ninjs._EXTERNAL_ID.match(b),
    "publish uid/slug": lambda b: (
        publish_service.UID.match(b),
        publish_service.UID_TAIL.search(b),
        publish_service.SLUG.match(b),
    ),
    "feed page part": lambda b: feed_routes._PART.match(b),
    "ArticleIn patterns": _article,
}


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies)
def test_every_function_stays_within_budget(name: str, body: Body) -> None:
    value = body.text
    assert_within_budget(name, lambda: FUNCTIONS[name](value), len(value))


# ---- "Baca juga" anywhere, and cutting resolved titles out ------------------------------------------


def _flat_links(n: int) -> str:
    """A flat body of n sentences, each with a marker: bare, glued, mid-sentence, or before an anchor."""
    units = [
        "Harga naik. Baca juga: Judul Satu Hari Ini warga protes. ",
        "Laki-lakiBaca Juga: Judul Dua di Sini lalu pergi. ",
        'Ia datang. <strong>Baca&nbsp;juga:</strong> <a href="https://x.id/1">Judul Tiga</a> Lalu pulang. ',
        "BACA JUGA - Judul Empat kata dia, Baca: Judul Lima. ",
    ]
    return "<p>" + "".join(units[i % len(units)] for i in range(n)) + "</p>"


MARKER_BODIES = {
    "baca juga x 100k": lambda: "baca juga " * 100_000,
    "glued x 35k": lambda: "lakiBaca Juga: " * 35_000,
    "marker then spaces": lambda: "x Baca juga:" + " " * 500_000 + "Judul",
    "marker then marks": lambda: "x Baca juga: a" + "\u0301" * 500_000 + " Judul",
    "marker then punctuation": lambda: "x Baca juga: " + "!?“”" * 125_000 + "Judul",
    "marker then every space": lambda: "x Baca juga:" + "".join(SPACES) * (500_000 // len(SPACES)) + "Judul",
    "baca then blanks": lambda: ("baca" + " " * 1_000) * 500,
    "markers before one anchor": lambda: "x " + "Baca juga <i>" * 40_000 + '<a href="/1">Judul</a>',
    "marker and unclosed tags": lambda: "x " + "Baca juga <b " * 40_000 + '<a href="/1">Judul</a>',
    "anchors after markers": lambda: 'x. <b>Baca juga:</b> <a href="/1">Judul</a> ' * 12_000,
    "flat body, 10k links": lambda: _flat_links(10_000),
}


@pytest.mark.parametrize("family", MARKER_BODIES)
def test_marker_scans_and_cuts_stay_within_budget(family: str) -> None:
    body = MARKER_BODIES[family]()
    assert_within_budget("_markers", lambda: text._markers(body), len(body))
    assert_within_budget("_marked_anchors", lambda: text._marked_anchors(body), len(body))
    assert_within_budget("clean_body", lambda: text.clean_body(body), len(body))
    flat = text.clean_body(body)
    cuts = [(link.offset, link.text) for link in flat.links if link.offset is not None]
    assert_within_budget("cut_inline_links", lambda: text.cut_inline_links(flat.text, cuts), len(flat.text))
    for offset, title in cuts[:50]:
        assert_within_budget("cut_inline_link", lambda: text.cut_inline_link(flat.text, offset, title), len(flat.text))


@pytest.mark.parametrize(
    "unit",
    [
        "<p>Baca Juga:\ufb01\t/",  # found by Hypothesis: a ligature and blanks between short markers
        "Baca: a ",
        "Baca juga:" + " " * 50 + "x ",  # long blank runs inside each title
    ],
)
def test_markers_each_given_the_long_title_that_follows_stay_within_budget(unit: str) -> None:
    """Each marker's title runs over the markers after it: read up to the next marker, never past it."""
    body = unit * (200_000 // len(unit))
    cuts = _cuts_at_every_marker(body)
    assert len(cuts) > 1000
    assert_within_budget("cut_inline_links", lambda: text.cut_inline_links(body, cuts), len(body))


def test_flat_body_with_thousands_of_links_is_found_and_cut() -> None:
    body = text.clean_body(_flat_links(10_000))
    assert len(body.links) == 12_500
    assert [link.href for link in body.links[:5]] == [None, None, "https://x.id/1", None, None]
    titles = ["Judul Satu Hari Ini", "Judul Dua di Sini", "Judul Empat", "Judul Lima"]
    cuts = []
    for link in body.links:
        if link.offset is not None:
            cuts.append((link.offset, next(t for t in titles if link.text.startswith(t))))
    started = time.perf_counter()
    cut = text.cut_inline_links(body.text, cuts)
    assert time.perf_counter() - started <= budget(len(body.text))
    assert "Judul" not in cut and "Baca" not in cut and "BACA" not in cut
    assert cut.startswith("Harga naik. warga protes. Laki-laki lalu pergi. Ia datang. Lalu pulang. kata dia, ")


@pytest.mark.parametrize(
    ("name", "body", "offset", "title"),
    [
        # A title of 500 KB that matches up to its last word, in ASCII and in folded letters.
        ("almost, words", "Baca juga: " + "kata " * 100_000 + "akhir", 0, "kata " * 100_000 + "akhis"),
        ("almost, folded", "Baca juga: " + "é " * 250_000 + "a", 0, "e " * 250_000 + "b"),
        ("almost, blanks", "Baca juga: " + "a" + " \u2003," * 150_000 + "b", 0, "a c"),
        # A huge word after the marker, against a short title: read no further than the title.
        ("long word", "Baca juga: " + "a" * 500_000, 0, "a"),
        # Many stale offsets: each fails at once.
        ("stale", "baca juga " * 50_000, 5, "juga"),
    ],
)
def test_cut_inline_link_reads_only_the_title_stretch(name: str, body: str, offset: int, title: str) -> None:
    assert_within_budget(name, lambda: text.cut_inline_link(body, offset, title), len(body) + len(title))
    assert text.cut_inline_link(body, offset, title) is None
    cuts = [(at, title) for at in range(0, len(body), 97)]
    assert_within_budget(name, lambda: text.cut_inline_links(body, cuts), len(body) + len(title))


# ---- same behaviour as the patterns they replace ----------------------------------------------------

OLD_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
OLD_HREF = re.compile(r"""<a\b[^>]*href=["']([^"']+)["'][^>]*>(.*?)</a>""", re.I | re.S)
OLD_BACA_JUGA = re.compile(r"\b(?:baca|simak)\s+(?:juga|pula)\b\s*[:\-–—]?\s*", re.I)
OLD_INITIALS = re.compile(r"^\(\s*[A-Za-z]{2,5}(?:\s*/\s*[A-Za-z]{2,5})*\s*\)$")
OLD_BOILERPLATE = [
    re.compile(p, re.I)
    for p in (
        r"^\s*SCROLL TO CONTINUE WITH CONTENT\s*$",
        r"SCROLL TO CONTINUE WITH CONTENT",
        r"^\s*ADVERTISEMENT\s*$",
        r"^\s*Tinggalkan Balasan\s*$",
        r"^\s*Tinggalkan Komentar\s*$",
        r"Alamat email Anda tidak akan dipublikasikan\.?(\s*Ruas yang wajib ditandai \*)?",
        r"^\s*[\d\s]*[+\-x×*]\s*[\d\s]*=\s*[\d\s]*$",
        r"^\s*Time limit is exhausted\.?.*$",
        r"^\s*(Bagikan|Share)( (artikel|berita) ini| this( article| story)?)?( ke| on| to)?\s*:?\s*"
        r"(Facebook|Twitter|WhatsApp|X|Telegram|LINE|Email|Copy Link|Salin Tautan|,|\s)*$",
        r"^\s*Simak (juga )?(video|berita)[^.]{0,80}:?\s*$",
        r"^\s*\[Gambas:[^\]]*\]\s*$",
    )
]


def old_remove_boilerplate(value: str) -> str:
    for pattern in OLD_BOILERPLATE:
        value = pattern.sub(" ", value)
    return re.sub(r"\s{2,}", " ", value).strip()


def old_normalise_title(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", value)).strip()


# Small strings of the pieces the patterns care about (the originals are quick on these).
small = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from([" ", "\t", "\u2003", "A", "HREF="])), max_size=25)
equivalence = settings(max_examples=300, deadline=None, database=None)


@equivalence
@given(pieces=small)
def test_tags_are_found_and_stripped_as_before(pieces: list[str]) -> None:
    value = "".join(pieces)
    assert text.looks_like_html(value) == bool(OLD_TAG.search(value))
    if "&#" not in value:  # the one change: references html.unescape rejects
        stripped = html.unescape(html.unescape(OLD_TAG.sub(" ", value)))
        assert text.strip_tags(value) == re.sub(r"[ \t\u00a0]+", " ", stripped).strip()


@equivalence
@given(pieces=small)
def test_baca_juga_anchor_is_read_as_before(pieces: list[str]) -> None:
    value = "".join(pieces)
    found = OLD_HREF.search(value)
    assert text._first_anchor(value) == (found.groups() if found else None)


@equivalence
@given(pieces=small)
def test_furniture_and_markers_match_as_before(pieces: list[str]) -> None:
    value = "".join(pieces)
    assert text.remove_boilerplate(value) == old_remove_boilerplate(value)
    found, before = text._INITIALS.match(value), OLD_INITIALS.match(value)
    assert (found and found.span()) == (before and before.span())


@equivalence
@given(pieces=small)
def test_markers_are_found_as_before_and_the_new_forms_too(pieces: list[str]) -> None:
    # Every marker the paragraph-start pattern found is still one, at the same place; the others are
    # the new forms: a bare "baca:" or a capitalised marker glued to a lowercase letter.
    value = "".join(pieces)
    found = {m.span(): m for m in text._BACA_JUGA.finditer(value)}
    before = [m.span() for m in OLD_BACA_JUGA.finditer(value)]
    assert set(before) <= found.keys()
    for span, m in found.items():
        if span not in before:
            glued = m.start() > 0 and value[m.start() - 1].islower() and m.group()[0] in "BS"
            assert glued or re.match(r"(?i:baca)\s*:", m.group()), (value, m)
    # Inside a lowercase word ("membaca juga") it is never a marker.
    inside = value.lower().replace("baca", "membaca").replace("simak", "menyimak")
    assert not any(text._BACA_JUGA.finditer(inside)), inside


@equivalence
@given(value=st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_titles_normalise_as_before(value: str) -> None:
    assert text.normalise_title(value) == old_normalise_title(value)
    assert text.normalise_title(value * 3) == old_normalise_title(value * 3)  # across the 64-character slices


FOLD_PIECES = [
    "a", "B", "kata", "é", "e\u0301", "\u0301", "ﬁ", "½", "⒈", "ß", "İ", "1", "Ⅻ", "ǅ", " ", "\u2003",
    "\n", ",", "-", "—", "“", "'", "!", "&",
]  # fmt: skip


@equivalence
@given(
    pieces=st.lists(st.sampled_from(FOLD_PIECES), max_size=20),
    title=st.one_of(st.integers(0, 40), st.lists(st.sampled_from(FOLD_PIECES), max_size=8).map("".join)),
)
def test_title_stretch_is_the_shortest_that_folds_to_the_title(pieces: list[str], title: int | str) -> None:
    # The stretch read after a marker is the shortest whose normalise_title is the title's, as a
    # search over every end finds it (it never runs into the next paragraph).
    value = "".join(pieces)
    target = old_normalise_title(value[:title] if isinstance(title, int) else title)
    if not target:
        return
    slow = None
    for end in range(len(value) + 1):
        if "\n\n" in value[:end]:
            break
        if old_normalise_title(value[:end]) == target:
            slow = end
            break
    assert text._title_end(value, 0, len(value), target) == slow


@equivalence
@given(pieces=small)
def test_plain_text_paragraphs_split_as_before(pieces: list[str]) -> None:
    value = "".join(pieces)
    assert text.plain_text_to_html(value) == text.paragraphs_to_html(re.split(r"\n\s*\n|\n", value))


@pytest.mark.parametrize(
    "paragraph",
    [
        "<p>Isi berita yang cukup panjang, dengan <b>tebal</b> dan <a href='https://x.id/1'>tautan</a>.</p>",
        "<h2>Subjudul</h2><ul><li>satu</li><li>dua <em>miring</em></li></ul>",
        "<blockquote><p>Kutipan</p><p>panjang</p></blockquote><table><tr><td>1</td></tr></table>",
    ],
)
def test_large_markup_in_pieces_sanitises_as_whole(paragraph: str) -> None:
    # Past the size nh3 gets whole, pieces are cut before top-level blocks: the output is the same, also
    # for what clean_body hands over (chunks without their end tags, one a line).
    markup = paragraph * 2_000
    assert text.sanitize_html(markup) == text._nh3(markup)
    chunks = "\n".join([paragraph.replace("</p>", "")] * 2_000)
    assert text.sanitize_html(chunks) == text._nh3(chunks)


def test_pieces_never_turn_comment_or_script_content_into_markup() -> None:
    # A cut inside a comment or a script reopens it in the next piece: its content stays dropped.
    markup = (
        "<p>awal</p>" * 2_000
        + "<script>var x = '" + "<p>kode</p>" * 2_000 + "';</script>"
        + "<!--" + "<p>catatan</p>" * 2_000 + "-->"
        + "<textarea>" + "<p>isian</p>" * 2_000 + "</textarea>"
        + "<p>akhir</p>" * 2_000
    )  # fmt: skip
    assert text.sanitize_html(markup) == text._nh3(markup)
    assert text.sanitize_html("<!--" + "<p>x</p>" * 10_000) == ""
