"""Article text handling shared by ingest and index: sanitising, plain text, boilerplate, "Baca juga"."""

from __future__ import annotations

import bisect
import functools
import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "blockquote",
    "q",
    "cite",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "figure",
    "figcaption",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "hr",
    "pre",
    "code",
    "abbr",
    "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
# Every pattern here is linear in its input by construction: no two quantified parts can match the same
# characters (possessive quantifiers where they could), and where a regex would rescan the rest of the
# text from every start position, one left-to-right pass does the work instead. tests/unit/
# test_text_linear.py holds each function to a time budget on adversarial input; bench/text_worst.py
# prints the worst case.
_TAG = re.compile(r"<[a-zA-Z/!][^>]*+>")
_TAG_START = re.compile(r"<[a-zA-Z/!]")
_BLOCK_SPLIT = re.compile(r"</(?:p|li|h[2-6]|blockquote|figcaption|tr|pre)>|<br\s*+/?>|<hr\s*+/?>", re.I)


# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, and the non-characters): a body that
# carries them would break every feed and sitemap it appears in.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def strip_invalid_chars(text: str) -> str:
    """Drop characters that are not allowed in XML (and never meant in an article)."""
    return _XML_INVALID.sub("", text)


def sanitize_html(raw: str) -> str:
    """Reduce newsroom HTML to a safe allow-list: no scripts, event handlers or javascript: URLs."""
    markup = _bound_formatting(strip_invalid_chars(raw))
    if len(markup) <= _WHOLE_CHARS and markup.count("<") <= _WHOLE_TAGS:
        return _nh3(markup)
    return "".join(_nh3(piece) for piece in _pieces(markup))


def _nh3(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# The HTML5 parser behind nh3 is quadratic in three shapes of markup: each block start tag walks the
# stack of open elements (20,000 unclosed <div>s take seconds), each attribute of a tag is compared with
# the ones before it (a tag with 30,000 attributes takes a second), and formatting elements left open are
# re-created in every later paragraph (<p><b id=N></p> repeated grows output and time with the square).
# Markup small enough for all that to stay cheap goes to nh3 whole, so ordinary articles come out as
# before; larger markup is sanitised in pieces that small, cut where possible before a top-level
# paragraph or block (where the pieces' output joins into the whole's), after capping the formatting
# elements that can be re-created.
_WHOLE_CHARS = 16_384
_WHOLE_TAGS = 1024
_PIECE_CHARS = 8192
_PIECE_TAGS = 256
_TAGS_AHEAD = re.compile(rf"(?:[^<]*+<){{{_PIECE_TAGS}}}[^<]*+")  # ends at the "<" one past a full piece


def _names(*names: str) -> str:
    """A group matching any of the tag names, after a cheap look at the first letter (most "<" fail there)."""
    return f"(?=[{''.join(sorted({n[0] for n in names}))}])({'|'.join(names)})"


_BLOCK = re.compile(
    r"<(?=/?[a-z])(/?)" + _names("p", "blockquote", "ul", "ol", "dl", "table", "figure", "pre") + r"(?=[\t\n\f\r />])",
    re.I | re.A,
)
# Comments and elements whose content is not markup, each to its end (or the end of the text). A cut
# inside one reopens it at the start of the next piece, so nh3 drops or keeps that content as before.
_OPAQUE = re.compile(
    r"<(?:!--(?:-?>|.*?(?:--!?>|\Z))|"
    + _names("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript")
    + r"(?=[\t\n\f\r />])[^>]*+(?:>|\Z).*?(?:</\1(?=[\t\n\f\r />])|\Z))",
    re.I | re.A | re.S,
)


def _pieces(markup: str) -> Iterator[str]:
    """Markup in pieces of at most _PIECE_TAGS "<" and _PIECE_CHARS characters, cut at top level if possible."""
    opaque = [(m.start(), m.end(), f"<{m.group(1)}>" if m.group(1) else "<!--") for m in _OPAQUE.finditer(markup)]
    cuts: list[int] = []  # where a paragraph or block opens outside any list, table, quote or figure
    depth = j = 0
    for m in _BLOCK.finditer(markup):
        while j < len(opaque) and opaque[j][1] <= m.start():
            j += 1
        if j < len(opaque) and opaque[j][0] < m.start():
            continue  # not a tag: inside a comment or a script
        closing, container = bool(m.group(1)), m.group(2).lower() != "p"
        if not closing and depth == 0:
            cuts.append(m.start())
        if container:
            depth = max(0, depth - 1) if closing else depth + 1
    begin, reopen = 0, ""
    while True:
        window = min(len(markup), begin + _PIECE_CHARS)
        ahead = _TAGS_AHEAD.match(markup, begin, window)  # looks no further than the piece can reach
        limit = ahead.end() if ahead and ahead.end() < window else window
        if limit == len(markup):
            break
        k = bisect.bisect_right(cuts, limit) - 1
        if k >= 0 and cuts[k] > begin:
            cut = cuts[k]
        else:  # no top-level cut: before any tag, else (one enormous tag or text) anywhere
            cut = markup.rfind("<", begin + 1, limit + 1)
            cut = cut if cut > begin else limit
        yield reopen + markup[begin:cut]
        k = bisect.bisect_right(opaque, (cut, len(markup))) - 1
        reopen = opaque[k][2] if k >= 0 and opaque[k][0] < cut < opaque[k][1] else ""
        begin = cut
    yield reopen + markup[begin:]


# A formatting start tag with attributes, as the HTML5 tokenizer reads it: attributes are separated by
# whitespace or "/", and only a value right after "=" may be quoted (and so hold ">").
_ATTRIBUTES = (
    r"(?:[\t\n\f\r /]++|[^\t\n\f\r />][^\t\n\f\r /=>]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+|(?=>)))?)*+"
)
_FORMATTING = (
    "<" + _names("b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u")
) + r"(?=[\t\n\f\r /])"
_FORMATTING_OPEN = re.compile(_FORMATTING, re.I | re.A)
_FORMATTING_TAG = re.compile(_FORMATTING + _ATTRIBUTES + ">", re.I | re.A)
# Closes whatever a tag can be in at the end of the text (a quoted value of either kind, a name, after
# "="), so every match of _FORMATTING_TAG ends here at the latest and no scan ever fails at the end.
_SENTINEL = "\"'\"'>"
# The parser keeps at most three identical open formatting elements; attributes make them distinct.
# nh3 drops these elements' attributes anyway (all but lang and title), so past the first few tags that
# have any, dropping them changes nothing readers see and bounds what the parser can re-create.
_FORMATTING_WITH_ATTRIBUTES = 16


def _bound_formatting(markup: str) -> str:
    """Drop the attributes of formatting start tags past the first few that have any."""
    # The first few are kept as they are, and the ones inside their attributes count as well.
    for kept, m in enumerate(_FORMATTING_OPEN.finditer(markup), start=1):
        if kept == _FORMATTING_WITH_ATTRIBUTES:
            bare = functools.partial(_bare, text_end=len(markup) - m.end())
            rest = _FORMATTING_TAG.sub(bare, markup[m.end() :] + _SENTINEL)
            return markup[: m.end()] + rest[: -len(_SENTINEL)]
    return markup


def _bare(tag: re.Match[str], *, text_end: int) -> str:
    if tag.end() <= text_end:
        return f"<{tag.group(1)}>"
    # Unterminated in the text itself, which a parser drops with all after it; escape the tags inside it.
    head = len(tag.group(1)) + 1
    return tag.group(0)[:head] + _FORMATTING_OPEN.sub(lambda t: "&lt;" + t.group(0)[1:], tag.group(0)[head:])


def looks_like_html(text: str) -> bool:
    """Whether text holds a tag: "<" and a letter, "/" or "!", closed by a later ">"."""
    # The first such "<" decides: if no ">" follows it, none follows any later one either.
    start = _TAG_START.search(text)
    return start is not None and text.find(">", start.end()) != -1


def paragraphs_to_html(paragraphs: list[str]) -> str:
    """Plain-text paragraphs as escaped <p> elements."""
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs if p and p.strip())


def plain_text_to_html(text: str) -> str:
    """Plain text, one paragraph a line (blank lines or single newlines), as <p> elements."""
    # Blank lines between paragraphs become empty paragraphs, which are dropped.
    return paragraphs_to_html(text.split("\n"))


def body_to_safe_html(*, body: str | None, paragraphs: list[str] | None) -> str:
    """Whatever body form a newsroom sent, as sanitised HTML paragraphs."""
    if paragraphs:
        return sanitize_html(paragraphs_to_html(paragraphs))
    body = body or ""
    return sanitize_html(body if looks_like_html(body) else plain_text_to_html(body))


def html_paragraphs(body_html: str) -> list[str]:
    """Split sanitised HTML into block-level chunks (each still HTML)."""
    return [chunk.strip() for chunk in _BLOCK_SPLIT.split(body_html) if strip_tags(chunk).strip()]


def strip_tags(fragment: str) -> str:
    """Plain text of an HTML fragment, entities decoded (twice: CMS exports often double-escape)."""
    # A tag needs a ">" to close it, so none starts after the last one. With the text cut there, every
    # match attempt ends at the next ">" instead of scanning to the end of the text from each "<".
    end = fragment.rfind(">") + 1
    text = _TAG.sub(" ", fragment[:end]) + fragment[end:]
    text = _unescape(_unescape(text))
    # Ingest runs this on every paragraph of every article; most have no run of blanks at all, and
    # three substring scans cost a small part of a regex pass that would replace each space by itself.
    if "  " in text or "\t" in text or "\u00a0" in text:
        text = _BLANKS.sub(" ", text)
    return text.strip()


_BLANKS = re.compile(r"[ \t\u00a0]++")


# html.unescape raises ValueError on a decimal reference of over 4,300 digits (int()'s limit on decimal
# strings). Past seven significant digits a reference is beyond U+10FFFF and means U+FFFD anyway.
_DECIMAL_REF = re.compile(r"&#(\d++)")


def _unescape(text: str) -> str:
    return html.unescape(_DECIMAL_REF.sub(_short_decimal_ref, text))


def _short_decimal_ref(ref: re.Match[str]) -> str:
    digits = ref.group(1).lstrip("0") or "0"
    return "&#" + (digits if len(digits) <= 7 else "99999999")


# Page furniture that scraped or CMS-exported bodies carry; it must not be indexed or shown. Each pattern
# is (regex, whole text, needle): a whole-text pattern is furniture only as a short line of its own; one
# that looks inside any text names a piece of it that every match holds. A case-insensitive regex has no
# fast literal search, and ingest runs these on every paragraph: a substring scan of the lower-cased text
# rules out almost all of them first. The needles leave out "i", "k" and "s", the letters re.I also
# matches to other characters (ı and İ, K, ſ), so the scan can never rule out a text the regex matches.
_BOILERPLATE = [
    (re.compile(p, re.I), p.startswith("^"), word)
    for p, word in (
        (r"^\s*+SCROLL TO CONTINUE WITH CONTENT\s*+$", None),
        (r"SCROLL TO CONTINUE WITH CONTENT", "croll to cont"),
        (r"^\s*+ADVERTISEMENT\s*+$", None),
        (r"^\s*+Tinggalkan Balasan\s*+$", None),
        (r"^\s*+Tinggalkan Komentar\s*+$", None),
        (r"Alamat email Anda tidak akan dipublikasikan\.?(?:\s*+Ruas yang wajib ditandai \*)?", "alamat ema"),
        (r"^[\d\s]*+[+\-x×*][\d\s]*+=[\d\s]*+$", None),  # math captcha residue, e.g. "+ 29 = 35"
        (r"^\s*+Time limit is exhausted\.?+.*+$", None),
        (
            r"^\s*+(?:Bagikan|Share)(?: (?:artikel|berita) ini| this(?: article| story)?)?(?: ke| on| to)?\s*+:?"
            r"(?:Facebook|Twitter|WhatsApp|X|Telegram|LINE|Email|Copy Link|Salin Tautan|,|\s)*+$",
            None,
        ),
        (r"^\s*+Simak (?:juga )?(?:video|berita)[^.]{0,80}+:?\s*+$", None),
        (r"^\s*+\[Gambas:[^\]]*+\]\s*+$", None),
    )
]
# Furniture lines (share bars, captcha residue, a repeated headline) are short; a longer text is story.
_LINE_MAX = 500
_SPACES = re.compile(r"\s{2,}")


def remove_boilerplate(text: str) -> str:
    """Text without page furniture, whitespace runs collapsed to one space."""
    lowered = text.lower()
    for pattern, whole_text, needle in _BOILERPLATE:
        if (whole_text and len(text) > _LINE_MAX) or (needle and needle not in lowered):
            continue
        cut = pattern.sub(" ", text)
        if cut != text:  # a cut can join the pieces of a later match
            text, lowered = cut, cut.lower()
    return _SPACES.sub(" ", text).strip()


_BACA_JUGA = re.compile(r"\b(?:baca|simak)\s++(?:juga|pula)\b\s*+[:\-–—]?\s*+", re.I)
# The marker counts only at the start of a paragraph (and whitespace is collapsed by then): look no further.
_MARKER_WINDOW = 64
_INITIALS = re.compile(r"^\(\s*+[A-Za-z]{2,5}+(?:\s*+/\s*+[A-Za-z]{2,5}+)*+\s*+\)$")


@dataclass(frozen=True)
class InlineLink:
    """An editor's inline "Baca juga" link: the text after the marker (and its href when the body had one)."""

    text: str
    href: str | None = None


# CMS exports that escape twice leave "&amp;quot;" in the sanitised HTML; readers would see "&quot;".
_DOUBLE_ESCAPED = re.compile(r"&amp;(#\d{1,6};|#x[0-9a-fA-F]{1,6};|[a-zA-Z]{2,8};)")

# The first anchor of a "Baca juga" paragraph, read as the regex
#     <a\b[^>]*href=["']([^"']+)["'][^>]*>(.*?)</a>      (re.I | re.S)
# would read it (its last href= before the tag's first ">", a value that may run past that ">", the text up
# to the next </a>), but in one pass: the regex rescans to the end from every "<a" that has no </a> after it.
_A_OPEN = re.compile(r"<a\b", re.I)
_A_CLOSE = re.compile(r"</a>", re.I)
_HREF_EQ = re.compile(r"href=", re.I)
_QUOTE = re.compile(r"[\"']")


def _first_anchor(chunk: str) -> tuple[str, str] | None:
    """(href, inner HTML) of the first anchor with a quoted href, as the regex above would find it."""
    last_close = -1
    for m in _A_CLOSE.finditer(chunk):
        last_close = m.start()
    if last_close < 0:
        return None
    pos = 0
    while (a := _A_OPEN.search(chunk, pos)) is not None:
        tag_end = chunk.find(">", a.end())
        if tag_end < 0:
            return None  # no ">" after any later "<a" either
        for h in reversed(list(_HREF_EQ.finditer(chunk, a.end(), tag_end))):
            value = h.end() + 1  # after the opening quote
            if chunk[h.end()] not in "\"'":
                continue
            quote = _QUOTE.search(chunk, value)
            if quote is None or quote.start() == value:
                continue
            # The value may hold ">"; the tag then ends at the first ">" after its closing quote.
            end = tag_end if quote.start() < tag_end else chunk.find(">", quote.end())
            if 0 <= end < last_close:
                inner_end = _A_CLOSE.search(chunk, end + 1)
                assert inner_end is not None
                return chunk[value : quote.start()], chunk[end + 1 : inner_end.start()]
        # A later "<a" before tag_end sees only some of these href= and fails the same way.
        pos = tag_end
    return None


@dataclass(frozen=True)
class CleanBody:
    """A body split into what readers see, what search indexes, and the editors' inline links."""

    html: str
    text: str
    links: list[InlineLink]


def clean_body(body_html: str, *, title: str | None = None, section: str | None = None) -> CleanBody:
    """Cut boilerplate and "Baca juga" lines out of a sanitised body; keep the links they named.

    Scraped pages repeat the headline and the section label above the story; given the title and
    section, those lines are dropped too.
    """
    kept_html: list[str] = []
    kept_text: list[str] = []
    links: list[InlineLink] = []
    furniture = {normalise_title(t) for t in (title, section) if t}
    for raw_chunk in html_paragraphs(body_html):
        chunk = _DOUBLE_ESCAPED.sub(r"&\1", raw_chunk)
        text = remove_boilerplate(strip_tags(chunk))
        if not text or _INITIALS.match(text):
            continue
        if not kept_text and len(text) <= _LINE_MAX and normalise_title(text) in furniture:
            continue
        marker = _BACA_JUGA.search(text, 0, _MARKER_WINDOW)
        if marker and marker.start() < 3:
            anchor = _first_anchor(chunk)
            link_text = strip_tags(anchor[1]) if anchor else text[marker.end() :]
            if link_text:
                links.append(InlineLink(text=link_text[:300], href=anchor[0] if anchor else None))
            # A flat body runs the link title into the next sentence; a short line is the link alone.
            rest = text[marker.end() :]
            if len(rest) > 200 and not anchor:
                kept_text.append(rest)
            continue
        kept_html.append(chunk if chunk.startswith("<") else f"<p>{chunk}</p>")
        kept_text.append(text)
    # The splitter consumed end tags; the sanitiser's HTML5 parser closes every element again.
    return CleanBody(html=sanitize_html("\n".join(kept_html)), text="\n\n".join(kept_text), links=links)


def normalise_title(text: str) -> str:
    """Lower case, letters and digits only, single spaces: for matching titles across sources."""
    if not text.isascii():
        # NFKD sorts each run of combining marks by insertion, quadratic in a long run; the marks never
        # survive the ASCII encode, so short slices decompose to the same letters in linear time.
        text = "".join(unicodedata.normalize("NFKD", text[at : at + 64]) for at in range(0, len(text), 64))
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", text)).strip()


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug of a title: its normalised words joined by hyphens, at most max_length characters."""
    slug = normalise_title(text).replace(" ", "-")
    return slug[:max_length].rstrip("-") or "artikel"
