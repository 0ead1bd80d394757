"""Comment text as readers see it: plain text, escaped, http(s) links made `nofollow ugc`, line breaks kept.

Nothing the reader typed is ever markup. Bidi overrides and isolates are removed so a name or a body cannot
reorder the text around it (a name that reads as someone else's, a link whose text runs backwards); the
templates also put names and bodies in <bdi> so right-to-left text stays inside its own box.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# U+202A-U+202E (embeddings, overrides) and U+2066-U+2069 (isolates), and C0/C1 controls other than the
# line break and tab: invisible, and only ever useful to mislead.
_INVISIBLE = {
    **{cp: None for cp in range(0x202A, 0x202F)},
    **{cp: None for cp in range(0x2066, 0x206A)},
    **{cp: None for cp in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0))},
}
# One fixed prefix, then one run of characters no URL holds unescaped: every character is looked at a
# bounded number of times, so finditer is linear whatever the text (no two quantified parts overlap).
_URL = re.compile(r"(?<![\w/])https?://[^\s<>\"'`\x00-\x1f\x7f]+", re.IGNORECASE)
# Sentence punctuation after a link belongs to the sentence ("lihat https://x.id/a.").
_TRAILING = ".,;:!?'\")]}"
_BLANK_LINES = re.compile(r"\n{3,}")
MAX_LINK_TEXT = 80


def clean(text: str) -> str:
    """The text without bidi controls and other invisible controls, with Unix line breaks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)


def clean_name(name: str) -> str:
    """A display name on one line, without bidi or other controls."""
    return " ".join(clean(name).split())


def _trim(url: str) -> str:
    end = len(url)
    opened, closed = url.count("("), url.count(")")  # counted once: the loop below stays linear
    while end and url[end - 1] in _TRAILING:
        if url[end - 1] == ")":
            # A closing bracket the link itself opened stays (Wikipedia-style "Foo_(bar)").
            if opened >= closed:
                break
            closed -= 1
        end -= 1
    return url[:end]


def _link(url: str) -> str:
    shown = url if len(url) <= MAX_LINK_TEXT else url[: MAX_LINK_TEXT - 1] + "\u2026"
    return f'<a href="{escape(url)}" rel="nofollow ugc noopener" target="_blank">{escape(shown)}</a>'


def render_body(text: str) -> Markup:
    """Safe HTML for a comment body: escaped text, links to http(s) URLs, <br> at line breaks."""
    text = _BLANK_LINES.sub("\n\n", clean(text).strip())
    parts: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        if "://" not in url or url.endswith("://"):
            continue  # only punctuation after the scheme: not a link
        parts.append(str(escape(text[pos : match.start()])))
        parts.append(_link(url))
        pos = match.start() + len(url)
    parts.append(str(escape(text[pos:])))
    # Every piece above is escaped text or a link built from escaped parts.
    return Markup("".join(parts).replace("\n", "<br>\n"))  # noqa: S704
