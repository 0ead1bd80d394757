"""WordPress post content to the HTML Kabar's ingest takes: block comments out, shortcodes expanded or dropped.

`content.rendered` from the REST API has shortcodes already run by the site, but a WXR export
(`content:encoded`) holds what the editor typed: Gutenberg's `<!-- wp:paragraph -->` comments and classic
shortcodes such as `[caption]…[/caption]`, `[embed]URL[/embed]` and `[gallery ids="1,2"]`. Ingest sanitises
whatever comes out of here (nh3) like any newsroom's HTML, so this module only has to keep the text and
drop the markup that has no meaning outside WordPress.

Every scan is one left-to-right pass over hostile text (`str.find` from a moving position, closing tags
located once in advance), never a regex that can backtrack: see tests/unit/test_wordpress_content.py.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

# Shortcodes that wrap content Kabar keeps (the caption's image and text, the embed's URL).
ENCLOSING = frozenset({"caption", "wp_caption", "embed"})
# Self-closing shortcodes WordPress core registers whose output needs the site (galleries, players):
# dropped, since their media arrive as attachments or not at all.
DROPPED = frozenset({"gallery", "playlist", "audio", "video"})
KNOWN = ENCLOSING | DROPPED
# A shortcode's opening tag is short; anything longer is text with brackets, not a tag (and bounds the scan).
MAX_TAG_CHARS = 2000
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def strip_block_comments(text: str) -> str:
    """Remove Gutenberg's block delimiters (`<!-- wp:… -->`, `<!-- /wp:… -->`); other comments stay (nh3
    drops them later) and so does everything between the delimiters."""
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            break
        probe = text[start + 4 : start + 12].lstrip()
        end = text.find("-->", start + 4)
        if end < 0:
            break
        if probe.startswith(("wp:", "/wp:")):
            out.append(text[pos:start])
        else:
            out.append(text[pos : end + 3])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _tag_at(text: str, at: int) -> tuple[str, bool, str, int] | None:
    """(name, closing, attributes, end) of a known shortcode tag starting at `at` (a "["), or None."""
    closing = text.startswith("[/", at)
    i = at + (2 if closing else 1)
    j = i
    limit = min(len(text), at + MAX_TAG_CHARS)
    while j < limit and text[j] in _NAME_CHARS:
        j += 1
    name = text[i:j].lower()
    if name not in KNOWN or j >= limit or text[j] not in " \t\n/]":
        return None
    # A "[" before the "]" means this was text: looking no further than the next "[" keeps every scan
    # within the gap between two brackets, so all of them together read the text once.
    following = text.find("[", j, limit)
    end = text.find("]", j, following if following >= 0 else limit)
    if end < 0:
        return None
    attributes = text[j:end]
    if closing and attributes.strip():
        return None
    return name, closing, attributes, end + 1


def _closings(text: str) -> dict[str, list[int]]:
    """Start of every closing tag of the enclosing shortcodes, in order: found once, so matching is linear."""
    found: dict[str, list[int]] = {name: [] for name in ENCLOSING}
    pos = text.find("[/")
    while pos >= 0:
        tag = _tag_at(text, pos)
        if tag is not None and tag[1] and tag[0] in found:
            found[tag[0]].append(pos)
        pos = text.find("[/", pos + 2)
    return found


def _attribute(attributes: str, name: str) -> str | None:
    """The value of name="…" (or '…') in a shortcode's attributes."""
    for quote in ('"', "'"):
        key = f"{name}={quote}"
        at = attributes.find(key)
        if at >= 0 and (at == 0 or attributes[at - 1] in " \t\n"):
            end = attributes.find(quote, at + len(key))
            if end >= 0:
                return attributes[at + len(key) : end]
    return None


def _caption(inner: str, attributes: str) -> str:
    """WordPress puts the caption text after the image inside the shortcode (or, in old posts, in caption=)."""
    text = _attribute(attributes, "caption")
    media = inner
    if text is None:
        close = max(inner.rfind(">"), -1)
        media, text = inner[: close + 1], inner[close + 1 :]
    text = text.strip()
    figcaption = f"<figcaption>{text}</figcaption>" if text else ""
    return f"<figure>{media.strip()}{figcaption}</figure>"


def _embed(inner: str) -> str:
    url = html.unescape(inner.strip())
    if not url.startswith(("https://", "http://")):
        return ""
    safe = html.escape(url, quote=True)
    return f'<p><a href="{safe}">{safe}</a></p>'


def _pieces(text: str) -> Iterator[str]:
    closings = _closings(text)
    taken = {name: 0 for name in ENCLOSING}  # next unused closing tag of each name
    pos = 0
    scan = text.find("[")
    while scan >= 0:
        tag = _tag_at(text, scan)
        if tag is None:
            scan = text.find("[", scan + 1)
            continue
        name, closing, attributes, end = tag
        yield text[pos:scan]
        pos = end
        if not closing and name in ENCLOSING:
            ends = closings[name]
            while taken[name] < len(ends) and ends[taken[name]] < end:
                taken[name] += 1
            if taken[name] < len(ends):
                close_at = ends[taken[name]]
                taken[name] += 1
                inner = text[end:close_at]
                yield _embed(inner) if name == "embed" else _caption(inner, attributes)
                pos = close_at + len(name) + 3
        # A stray closing tag, a dropped shortcode or an opening tag never closed: the tag goes, text stays.
        scan = text.find("[", pos)
    yield text[pos:]


def expand_shortcodes(text: str) -> str:
    """Captions to <figure>, embeds to a link, galleries and players dropped; other brackets untouched.

    `[[caption]]` is WordPress's way of writing a shortcode literally: kept as `[caption]`.
    """
    if "[" not in text:
        return text
    out = "".join(_pieces(text.replace("[[", "\x00").replace("]]", "\x01")))
    return out.replace("\x00", "[").replace("\x01", "]")


_BLOCK_TAGS = ("<div", "<figure", "<h2", "<h3", "<h4", "<h5", "<h6", "<ul", "<ol", "<blockquote", "<table", "<pre")


def autop(text: str) -> str:
    """Paragraphs for classic-editor content, as WordPress's wpautop() gives readers: the editor stores text
    with blank lines between paragraphs and no <p>. A chunk that is a block already (a caption's figure, a
    list) stays as it is; content with paragraphs (Gutenberg's, or the REST API's rendered HTML) is left alone."""
    lowered = text.lower()
    if "<p>" in lowered or "<p " in lowered:
        return text
    chunks = [chunk.strip() for chunk in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(
        chunk if chunk.lower().startswith(_BLOCK_TAGS) else f"<p>{chunk.replace(chr(10), '<br>')}</p>"
        for chunk in chunks
        if chunk
    )


def clean_content(text: str) -> str:
    """What ingest receives as the article body."""
    return autop(expand_shortcodes(strip_block_comments(text)).strip())
