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


# An editor's "Baca juga" marker, anywhere in a paragraph and in any letter case: "baca juga", "baca pula",
# "simak juga" (and "simak pula", as before), and a bare "baca" only before a colon ("Baca: …"); then an
# optional ":", "-", "–" or "—". A word boundary comes first, except in the glued form scraped pages leave
# when a sentence runs into the marker ("…Laki-lakiBaca Juga: Judul"): a capitalised "Baca Juga", "Baca
# juga" or "BACA JUGA" right after a lowercase letter; "membaca juga" stays a word. The letters are ASCII
# classes, not re.I, which would also take "ſ", "K" and "ı" for letters of the marker (and so a substring
# scan of the lower-cased text rules paragraphs out exactly). Linear: every quantifier is possessive, and
# from each start the pattern reads at most the one blank run after a word, a run no other start reads.
_MARKER_WORDS = "(?:[Jj][Uu][Gg][Aa]|[Pp][Uu][Ll][Aa])"


def _marker(blank: str) -> str:
    """The marker, with `blank` as what may stand between its words and after it."""
    return (  # the lookahead first: the regex engine then skips ahead to the letters a marker starts with
        rf"(?=[BbSs])(?:\b(?:[Bb][Aa][Cc][Aa](?:{blank}++{_MARKER_WORDS}\b|(?={blank}*+:))"
        rf"|[Ss][Ii][Mm][Aa][Kk]{blank}++{_MARKER_WORDS}\b)"
        rf"|(?<=[a-z\u00df-\u00f6\u00f8-\u00ff])(?:Baca{blank}++[Jj]uga|BACA{blank}++JUGA)\b)"
        rf"{blank}*+[:\-–—]?{blank}*+"
    )


_BACA_JUGA = re.compile(_marker(r"\s"))
# The same marker in sanitised HTML, ending where an anchor starts: tags and no-break spaces may stand
# between and after its words ("<strong>Baca&nbsp;juga:</strong> <a …>"). These tags hold no "<", so the
# runs read from different "<" never overlap.
_BACA_JUGA_BEFORE_ANCHOR = re.compile(_marker(r"(?:\s|&nbsp;|&#160;|&#[xX][aA]0;|<[^<>]*+>)") + r"\Z")
_TAG_IN_MARKER = re.compile(r"<[^<>]*+>")
# A paragraph that opens with a marker (after at most a bracket or a dash and a space) is a link line.
_OPENING = 3
_LINK_CHARS = 300
# Marks the place of a cut marker and anchor in a paragraph's text; sanitised HTML never holds it.
_CUT = "\x00"
_INITIALS = re.compile(r"^\(\s*+[A-Za-z]{2,5}+(?:\s*+/\s*+[A-Za-z]{2,5}+)*+\s*+\)$")


@dataclass(frozen=True)
class InlineLink:
    """An editor's inline "Baca juga" link.

    `text` is the anchor's text, else what follows the marker (at most 300 characters, up to the next
    marker); `href` the anchor's href when the body had one. `offset` is where the link still stands in
    CleanBody.text, for cut_inline_link once the index worker has resolved the title: the marker's start,
    or, for a long paragraph that opened with the marker (the marker is cut, the rest kept), the start of
    that kept paragraph, which then opens with the link text. None when the text holds no trace of it.
    """

    text: str
    href: str | None = None
    offset: int | None = None


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


_HREF = re.compile(r"""(?<![\w-])href\s*+=\s*+(?:"([^"]*+)"|'([^']*+)')""", re.I)


def _anchors(chunk: str) -> Iterator[tuple[int, int, int, str, str]]:
    """(start, end of the start tag, end, href, inner HTML) of each anchor with a quoted href, in one pass."""
    pos = 0
    while (a := _A_OPEN.search(chunk, pos)) is not None:
        tag_end = chunk.find(">", a.end())
        if tag_end < 0:
            return  # no ">" after any later "<a" either
        close = _A_CLOSE.search(chunk, tag_end)
        if close is None:
            return  # nor an end tag
        href = _HREF.search(chunk, a.end(), tag_end)
        if href:
            value = href.group(1) if href.group(1) is not None else href.group(2)
            yield a.start(), tag_end + 1, close.end(), value, chunk[tag_end + 1 : close.start()]
        pos = close.end()


def _marked_anchors(chunk: str) -> list[tuple[int, int, int, str, str]]:
    """(marker start, anchor start, anchor end, href, anchor text) of each anchor right after a marker."""
    found = []
    before = 0
    for start, _, end, href, inner in _anchors(chunk):
        # Each search reads only the markup between the previous anchor and this one.
        marker = _BACA_JUGA_BEFORE_ANCHOR.search(chunk, before, start)
        title = strip_tags(inner) if marker else ""
        if marker and title:
            found.append((marker.start(), start, end, href, title))
        before = end
    return found


def _markers(text: str) -> list[re.Match[str]]:
    """Every "Baca juga" marker of a text, in order."""
    lowered = text.lower()
    if "baca" not in lowered and "simak" not in lowered:
        return []
    return list(_BACA_JUGA.finditer(text))


def _link_text(text: str, start: int, end: int) -> str:
    """What a marker ending at start names, up to end (the next marker or cut): at most 300 characters."""
    return (text[start:end] if end == len(text) else text[start:end].rstrip())[:_LINK_CHARS]


def _splice(pieces: list[str]) -> tuple[str, list[int]]:
    """Pieces of a text whose parts between them were cut out, joined; and where each cut now is.

    The blanks around a cut close up to one space; none is added at a line end or at either end of the
    text, and a cut that took a whole paragraph leaves one paragraph break.
    """
    out: list[str] = []
    size = 0
    cuts: list[int] = []

    def trim(chars: str) -> None:
        nonlocal size
        while out:
            last = out[-1].rstrip(chars)
            size -= len(out[-1]) - len(last)
            if last:
                out[-1] = last
                return
            out.pop()

    for i, piece in enumerate(pieces):
        if i:
            trim(" \t")
            piece = piece.lstrip(" \t")
            cuts.append(size)
            if not out or out[-1].endswith("\n"):
                piece = piece.lstrip("\n") if not out or piece.startswith("\n") else piece
            elif piece and not piece.startswith("\n"):
                out.append(" ")
                size += 1
        if piece:
            out.append(piece)
            size += len(piece)
    if len(pieces) > 1 and not piece:  # the text ends at a cut
        trim("\n")
    return "".join(out), cuts


def _paragraph_links(chunk: str, text: str, markers: list[re.Match[str]]) -> tuple[str, str, list[InlineLink]]:
    """A paragraph's markup and text without the markers an anchor follows, and every marker's link.

    A marker right before an anchor names the anchor's text: both leave the text and the markup (the
    markup's tags stay, so it stays balanced). Any other marker is left where it is, and its link gets
    its offset in the paragraph's text. The links come in order, empty ones too.
    """
    pairs = _marked_anchors(chunk) if _CUT not in chunk else []
    cuts: list[int] = []
    if pairs:
        html_parts, text_parts = [], []
        before = 0
        for marker_start, anchor_start, anchor_end, _, _ in pairs:
            tags = "".join(_TAG_IN_MARKER.findall(chunk, marker_start, anchor_start))
            html_parts += [chunk[before:marker_start], tags]
            text_parts += [chunk[before:marker_start], tags, _CUT]
            before = anchor_end
        html_parts.append(chunk[before:])
        text_parts.append(chunk[before:])
        pieces = remove_boilerplate(strip_tags("".join(text_parts))).split(_CUT)
        if len(pieces) == len(pairs) + 1:  # else furniture took a cut: read the paragraph as it is
            chunk = "".join(html_parts)
            text, cuts = _splice(pieces)
            markers = _markers(text)
        else:
            pairs = []
    events = sorted([(at, 0, i) for i, at in enumerate(cuts)] + [(m.start(), 1, i) for i, m in enumerate(markers)])
    links = []
    for k, (_, kind, i) in enumerate(events):
        if kind == 0:
            links.append(InlineLink(text=pairs[i][4][:_LINK_CHARS], href=pairs[i][3]))
        else:
            m = markers[i]
            end = events[k + 1][0] if k + 1 < len(events) else len(text)
            links.append(InlineLink(text=_link_text(text, m.end(), end), offset=m.start()))
    return chunk, text, links


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

    A paragraph that opens with a marker is a link line: the link is its first anchor, else the text
    after the marker, and the line leaves both html and text. A long one without an anchor is a flat
    body whose link title runs into the story: its text after the marker stays in the text, and the
    link's offset points at the start of that kept paragraph, which opens with the link text.

    A marker inside a paragraph names the anchor right after it, if there is one: the marker and the
    anchor leave html and text (the title's end is known) and the rest of the paragraph stays. Any other
    marker stays where it is in both (readers see what the newsroom wrote); its link holds up to 300
    characters after the marker and the marker's offset in the text, where cut_inline_link can take the
    title out once it is known. Offsets index CleanBody.text exactly; every marker's link is kept, in order.
    """
    kept_html: list[str] = []
    kept_text: list[str] = []
    links: list[InlineLink] = []
    size = 0  # of "\n\n".join(kept_text)
    furniture = {normalise_title(t) for t in (title, section) if t}
    for raw_chunk in html_paragraphs(body_html):
        chunk = _DOUBLE_ESCAPED.sub(r"&\1", raw_chunk)
        text = remove_boilerplate(strip_tags(chunk))
        if not text or _INITIALS.match(text):
            continue
        if not kept_text and len(text) <= _LINE_MAX and normalise_title(text) in furniture:
            continue
        at = size + 2 if kept_text else 0  # where this paragraph's text would start
        markers = _markers(text)
        if markers and markers[0].start() < _OPENING:
            marker = markers[0]
            anchor = _first_anchor(chunk)
            # A flat body runs the link title into the next sentence; a short line is the link alone.
            rest = text[marker.end() :]
            keep_rest = len(rest) > 200 and not anchor
            end = markers[1].start() if len(markers) > 1 else len(text)
            link_text = strip_tags(anchor[1])[:_LINK_CHARS] if anchor else _link_text(text, marker.end(), end)
            if link_text:
                links.append(
                    InlineLink(text=link_text, href=anchor[0] if anchor else None, offset=at if keep_rest else None)
                )
            if keep_rest:
                shift = at - marker.end()  # the kept text starts where the marker ended
                for k, m in enumerate(markers[1:], start=2):
                    end = markers[k].start() if k < len(markers) else len(text)
                    if later := _link_text(text, m.end(), end):
                        links.append(InlineLink(text=later, offset=shift + m.start()))
                kept_text.append(rest)
                size = at + len(rest)
            elif len(markers) > 1:  # the line goes, and so does every trace of its other links
                later_links = _paragraph_links(chunk, text, markers)[2][1:]
                links += [InlineLink(text=link.text, href=link.href) for link in later_links if link.text]
            continue
        if markers:
            chunk, text, found = _paragraph_links(chunk, text, markers)
            links += [
                InlineLink(text=link.text, href=link.href, offset=None if link.offset is None else at + link.offset)
                for link in found
                if link.text
            ]
            if not text:
                continue
        kept_html.append(chunk if chunk.startswith("<") else f"<p>{chunk}</p>")
        kept_text.append(text)
        size = at + len(text)
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


# ---- cutting an inline link's title out of the text, once the index worker has resolved it ---------

_ASCII_WORD = re.compile(r"[0-9A-Za-z]++")
_ASCII_GAP = re.compile(r"[\x00-\t\x0b-/:-@\[-`{-\x7f]++")  # ASCII but letters, digits and "\n"
# What may follow a title and goes with it: blanks, closing punctuation, a dash before a blank, and the
# closing quote of a title that opened with one.
_TITLE_CLOSERS = frozenset(" \t.,;:!?…)]}”’»")
_TITLE_DASHES = frozenset("-–—|")


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """A character as normalise_title reads it, before it turns other characters into spaces."""
    return unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode().lower()


def _title_end(text: str, pos: int, stop: int, target: str) -> int | None:
    """End of the shortest text[pos:end] (end <= stop) whose normalise_title is target, else None.

    One step a word, a run of ASCII separators or another character; it stops at the first character
    that cannot continue the title, so it reads no further than the title's stretch.
    """
    j, n, gap = 0, len(target), False
    while pos < stop:
        char = text[pos]
        if char.isascii() and char.isalnum():
            if gap and j:
                if target[j] != " ":
                    return None
                j += 1
            # Of a word longer than what is left of the title, read no more than that (the caller
            # refuses a title that ends inside a word).
            word = _ASCII_WORD.match(text, pos, min(stop, pos + n - j))
            assert word is not None
            if target[j : j + len(word.group())] != word.group().lower():
                return None
            j, pos, gap = j + len(word.group()), word.end(), False
        elif char == "\n":
            if text.startswith("\n", pos + 1):
                return None  # a title never runs into the next paragraph
            pos, gap = pos + 1, True
        elif char.isascii():
            gap_run = _ASCII_GAP.match(text, pos, stop)
            assert gap_run is not None
            pos, gap = gap_run.end(), True
        else:
            pos += 1
            for c in _fold(char):
                if not c.isalnum():
                    gap = True
                    continue
                if j == n:
                    return None  # the character spells more than the title
                if gap and j:
                    if target[j] != " ":
                        return None
                    j += 1
                if target[j] != c:
                    return None
                j, gap = j + 1, False
        if j == n:
            return pos
    return None


def _glued(text: str, at: int) -> bool:
    """A capital right after the title's last letter or digit starts the next text, glued on by a scraper
    that dropped the line break ("…UU PesantrenPewarta: …")."""
    return text[at].isupper() and not text[at - 1].isupper()


def _link_span(text: str, offset: int, title: str, stop: int, targets: dict[str, str]) -> tuple[int, int] | None:
    """The stretch text[offset:end] (end <= stop) that holds a marker and then title, else None.

    targets holds the titles already normalised (a stale offset costs no normalising at all).
    """
    if not 0 <= offset < stop:
        return None
    marker = _BACA_JUGA.match(text, offset, stop)
    if marker:
        start = marker.end()
    elif offset == 0 or text[offset - 2 : offset] == "\n\n":
        start = offset  # a paragraph that opened with the marker: clean_body cut the marker already
    else:
        return None
    if title not in targets:
        targets[title] = normalise_title(title)
    if not targets[title]:
        return None
    end = _title_end(text, start, stop, targets[title])
    if end is None:
        return None
    while end < stop and unicodedata.category(text[end]).startswith("M"):
        end += 1  # marks on the title's last letter
    if end < stop and text[end].isalnum() and not _BACA_JUGA.match(text, end, stop) and not _glued(text, end):
        return None  # the title ends inside a word
    open_quotes = {quote for quote in "\"'" if text.count(quote, start, end) % 2}
    while end < stop:
        char = text[end]
        if char in _TITLE_CLOSERS:
            end += 1
        elif char in open_quotes:
            open_quotes.discard(char)
            end += 1
        elif char in _TITLE_DASHES and (end + 1 == stop or text[end + 1] in " \t"):
            end += 1
        else:
            break
    return offset, end


def cut_inline_link(text: str, offset: int, title: str) -> str | None:
    """Text without the inline link at offset, now that its title is known; None if it is not there.

    At offset stands a marker (or, where clean_body cut a marker that opened a long paragraph, that
    paragraph's start); after it the title, compared as normalise_title folds it (diacritics, case,
    punctuation, runs of blanks): the shortest stretch that folds to the title goes, with the closing
    punctuation and blanks after it, and the sentence that follows joins what came before with one space.
    A stale offset, one that finds no marker or not that title there, cuts nothing. All before the blanks
    in front of the marker keeps its place, so lower offsets stay valid. The cost is linear in the title
    and the stretch read; the rest of the text is only copied.
    """
    span = _link_span(text, offset, title, len(text), {})
    return None if span is None else _splice([text[: span[0]], text[span[1] :]])[0]


def cut_inline_links(text: str, cuts: list[tuple[int, str]]) -> str:
    """Text without each (offset, title) inline link that cut_inline_link would cut; stale ones are skipped.

    The links are taken highest offset first, each checked against the text as given and ending before
    the next link's marker (a title never runs across another marker; one that would is stale); the text is
    put together once. So each stretch between two markers is read by the link before it only, and the
    cost stays linear however many markers a hostile body packs in front of long titles.
    """
    spans: list[tuple[int, int]] = []
    stop = len(text)  # where the text still uncut by a later link ends
    above = previous = len(text)  # the next higher link's offset (cut or not), and the last offset seen
    targets: dict[str, str] = {}
    for offset, title in sorted(cuts, key=lambda cut: cut[0], reverse=True):
        if offset < previous:
            above, previous = previous, offset
        span = _link_span(text, offset, title, min(stop, above), targets)
        if span is not None:
            spans.append(span)
            stop = span[0]
    if not spans:
        return text
    pieces = []
    end = len(text)
    for start, stop in spans:
        pieces.append(text[stop:end])
        end = start
    pieces.append(text[:end])
    return _splice(pieces[::-1])[0]
