"""Turn stored article documents into what templates render."""

from __future__ import annotations

from typing import Any

from services.publish.formatting import long_datetime
from shared.text import html_paragraphs

INLINE_AFTER_PARAGRAPH = 2


def article_context(article: dict[str, Any], related: list[dict[str, Any]], *, locale: str) -> dict[str, Any]:
    """Paragraphs, the inline "Baca juga" link (editors' pick first) and the end-of-article list."""
    paragraphs = html_paragraphs(article.get("body_html") or "")
    inline = related[0] if related else None
    return {
        "article": article,
        "paragraphs": [_close(p) for p in paragraphs],
        "inline_related": inline,
        "inline_after": min(INLINE_AFTER_PARAGRAPH, max(len(paragraphs) - 1, 1)),
        "related": related[1:] if inline else related,
        "published_label": long_datetime(article.get("published_at"), locale=locale),
    }


def _close(chunk: str) -> str:
    """html_paragraphs splits at end tags; put a paragraph's end tag back for well-formed output."""
    if chunk.startswith("<p") and not chunk.endswith("</p>"):
        return chunk + "</p>"
    return chunk
