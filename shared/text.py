"""Article text handling shared by ingest and index: sanitising, plain text, boilerplate, "Baca juga"."""

from __future__ import annotations

import html
import re
import unicodedata
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
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_BLOCK_SPLIT = re.compile(r"</(?:p|li|h[2-6]|blockquote|figcaption|tr|pre)>|<br\s*/?>|<hr\s*/?>", re.I)


# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, and the non-characters): a body that
# carries them would break every feed and sitemap it appears in.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def strip_invalid_chars(text: str) -> str:
    """Drop characters that are not allowed in XML (and never meant in an article)."""
    return _XML_INVALID.sub("", text)


def sanitize_html(raw: str) -> str:
    """Reduce newsroom HTML to a safe allow-list: no scripts, event handlers or javascript: URLs."""
    return nh3.clean(
        strip_invalid_chars(raw),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def paragraphs_to_html(paragraphs: list[str]) -> str:
    """Plain-text paragraphs as escaped <p> elements."""
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs if p and p.strip())


def plain_text_to_html(text: str) -> str:
    """Plain text, one paragraph a line (blank lines or single newlines), as <p> elements."""
    return paragraphs_to_html(re.split(r"\n\s*\n|\n", text))


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
    text = _TAG.sub(" ", fragment)
    text = html.unescape(html.unescape(text))
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


# Page furniture that scraped or CMS-exported bodies carry; it must not be indexed or shown.
_BOILERPLATE = [
    re.compile(p, re.I)
    for p in (
        r"^\s*SCROLL TO CONTINUE WITH CONTENT\s*$",
        r"SCROLL TO CONTINUE WITH CONTENT",
        r"^\s*ADVERTISEMENT\s*$",
        r"^\s*Tinggalkan Balasan\s*$",
        r"^\s*Tinggalkan Komentar\s*$",
        r"Alamat email Anda tidak akan dipublikasikan\.?(\s*Ruas yang wajib ditandai \*)?",
        r"^\s*[\d\s]*[+\-x×*]\s*[\d\s]*=\s*[\d\s]*$",  # math captcha residue, e.g. "+ 29 = 35"
        r"^\s*Time limit is exhausted\.?.*$",
        r"^\s*(Bagikan|Share)( (artikel|berita) ini| this( article| story)?)?( ke| on| to)?\s*:?\s*"
        r"(Facebook|Twitter|WhatsApp|X|Telegram|LINE|Email|Copy Link|Salin Tautan|,|\s)*$",
        r"^\s*Simak (juga )?(video|berita)[^.]{0,80}:?\s*$",
        r"^\s*\[Gambas:[^\]]*\]\s*$",
    )
]


def remove_boilerplate(text: str) -> str:
    for pattern in _BOILERPLATE:
        text = pattern.sub(" ", text)
    return re.sub(r"\s{2,}", " ", text).strip()


_BACA_JUGA = re.compile(r"\b(?:baca|simak)\s+(?:juga|pula)\b\s*[:\-–—]?\s*", re.I)
_INITIALS = re.compile(r"^\(\s*[A-Za-z]{2,5}(?:\s*/\s*[A-Za-z]{2,5})*\s*\)$")


@dataclass(frozen=True)
class InlineLink:
    """An editor's inline "Baca juga" link: the text after the marker (and its href when the body had one)."""

    text: str
    href: str | None = None


# CMS exports that escape twice leave "&amp;quot;" in the sanitised HTML; readers would see "&quot;".
_DOUBLE_ESCAPED = re.compile(r"&amp;(#\d{1,6};|#x[0-9a-fA-F]{1,6};|[a-zA-Z]{2,8};)")

_HREF = re.compile(r"""<a\b[^>]*href=["']([^"']+)["'][^>]*>(.*?)</a>""", re.I | re.S)


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
        if not kept_text and normalise_title(text) in furniture:
            continue
        marker = _BACA_JUGA.search(text)
        if marker and marker.start() < 3:
            anchor = _HREF.search(chunk)
            link_text = strip_tags(anchor.group(2)) if anchor else text[marker.end() :]
            if link_text:
                links.append(InlineLink(text=link_text[:300], href=anchor.group(1) if anchor else None))
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
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", text)).strip()


def slugify(text: str, max_length: int = 80) -> str:
    slug = normalise_title(text).replace(" ", "-")
    return slug[:max_length].rstrip("-") or "artikel"
