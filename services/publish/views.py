"""Turn stored article documents into what templates render: paragraphs, related links, metadata."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from services.publish.corrections import modified_at, note_locale, notes
from services.publish.formatting import long_datetime, short_date
from shared.text import sanitize_html, strip_tags

INLINE_AFTER_PARAGRAPH = 2

# Elements that stay inside a paragraph-like run of text; any other element at the top level of the body
# is a block of its own. Void elements have no end tag to wait for.
_INLINE = {"a", "abbr", "b", "br", "cite", "code", "em", "i", "img", "q", "s", "span", "strong", "sub", "sup", "u"}
_VOID = {"br", "hr", "img", "wbr"}
# A start or end tag as the sanitiser serialises it: quoted attribute values may hold ">" (and "<"),
# text never holds a raw "<". The alternatives start with different characters, so the scan is linear.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*+)(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>")


def article_context(
    article: dict[str, Any], related: list[dict[str, Any]], *, locale: str, base_url: str, site_name: str
) -> dict[str, Any]:
    """Paragraphs, the inline "Baca juga" link (editors' pick first), the end list and page metadata."""
    paragraphs = body_blocks(article.get("body_html") or "")
    inline = related[0] if related else None
    canonical = base_url + article["path"]
    description = article.get("dek") or _first_text(paragraphs)
    image = _first_image(article)
    modified = modified_at(article)
    return {
        "article": article,
        "paragraphs": paragraphs,
        "inline_related": inline,
        "inline_after": min(INLINE_AFTER_PARAGRAPH, max(len(paragraphs) - 1, 1)),
        "related": related[1:] if inline else related,
        "published_label": long_datetime(article.get("published_at"), locale=locale),
        # The latest of updated_at and the newest note's time: a correction is an update readers should see.
        "modified_at": modified,
        "updated_label": long_datetime(modified, locale=locale) if modified else "",
        "notes": notes(article, locale=note_locale(article, locale)),
        "canonical": canonical,
        "description": description,
        "image": image,
        "og_type": "article",
        "json_ld": json_ld(article, canonical=canonical, image=image, site_name=site_name, base_url=base_url),
    }


def json_ld(
    article: dict[str, Any], *, canonical: str, image: dict[str, Any] | None, site_name: str, base_url: str
) -> str:
    """schema.org NewsArticle, serialised so that it can never close its <script> element early."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "headline": (article.get("title") or "")[:110],
        "datePublished": article.get("published_at"),
        "dateModified": modified_at(article) or article.get("published_at"),
        "author": [{"@type": "Person", "name": a} for a in article.get("authors") or []]
        or [{"@type": "Organization", "name": article.get("byline") or article.get("source") or site_name}],
        "articleSection": article.get("section"),
        "publisher": {"@type": "Organization", "name": site_name, "url": base_url + "/"},
        "inLanguage": article.get("language") or "id",
    }
    if image:
        data["image"] = [image["url"]]
    if article.get("dek"):
        data["description"] = article["dek"]
    # schema.org's own way to say a story was corrected; clarifications are comments on the story too.
    corrections = [
        {"@type": "CorrectionComment", "text": note["text"], "datePublished": note.get("at")}
        for note in article.get("corrections") or []
        if note.get("text")
    ]
    if corrections:
        data["correction"] = corrections
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def list_item(item: dict[str, Any], *, locale: str) -> dict[str, Any]:
    return {**item, "date_label": short_date(item.get("published_at"), locale=locale)}


def page_links(*, path: str, params: dict[str, Any], page: int, pages: int) -> dict[str, str | None]:
    """Previous/next links that keep every other query parameter."""

    def link(n: int) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "") and k != "page"}
        if n > 1:
            query["page"] = n
        return path + ("?" + urlencode(query) if query else "")

    return {"prev": link(page - 1) if page > 1 else None, "next": link(page + 1) if page < pages else None}


def _first_text(paragraphs: list[str]) -> str:
    for p in paragraphs:
        text = strip_tags(p)
        if text:
            return text[:200]
    return ""


def _first_image(article: dict[str, Any]) -> dict[str, Any] | None:
    images = article.get("images") or []
    return images[0] if images else None


def body_blocks(body_html: str) -> list[str]:
    """The body's top-level blocks (and runs of loose text), each balanced HTML.

    The article template puts the inline "Baca juga" link between two of them, so a block must never be
    cut inside an element (splitting at end tags, as html_paragraphs does for plain text, drops a
    text-less "</blockquote>" and leaves the quote open to the end of the page).

    The body is the one ingest prepared (sanitised, balanced); nothing about it is worked out again here.
    It still goes through the sanitiser once more, as defence in depth at the one place it is marked
    safe: the template trusts it, and this scan's balance relies on the sanitiser's serialisation
    (quoted attributes, no raw "<" in text), while a document can reach the index by other paths than
    the worker (a restore, a hand-run reindex, code of another version). On a prepared body the sanitiser
    is the identity (every body of the corpus comes out unchanged) and costs about a fifth of building
    the page context (~75 µs of ~400 µs for a 2.6 kB body), once per page the microcache misses.
    """
    markup = sanitize_html(body_html)
    blocks: list[str] = []
    start = depth = 0
    in_block = False

    def cut(end: int) -> None:
        chunk = markup[start:end].strip()
        if chunk:
            blocks.append(chunk)

    for tag in _TAG.finditer(markup):
        closing, name = bool(tag.group(1)), tag.group(2).lower()
        if depth == 0 and (name not in _INLINE or name == "br"):
            cut(tag.start())
            if name in _VOID or closing:  # a top-level <hr> is a block of its own; a <br> is a boundary
                if name != "br" and not closing:
                    blocks.append(tag.group(0))
                start = tag.end()
                continue
            start, depth, in_block = tag.start(), 1, True
            continue
        if name in _VOID:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth == 0 and in_block:
            cut(tag.end())
            start, in_block = tag.end(), False
    cut(len(markup))
    return blocks
