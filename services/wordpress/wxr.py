"""A WordPress export (WXR, RSS 2.0 with WordPress's namespaces), read as a stream.

Exports run to gigabytes, so nothing here holds more than one item: `iterparse` hands over each `<item>`
when it ends and the item is then dropped from the tree. The featured image of a post is an attachment
item that may come before or after it, so a first pass collects attachments (id, URL, caption: a few
hundred bytes each) and the second yields posts. The parser is defusedxml's: a DTD, an entity declaration
or an external reference in the file is refused, never expanded or fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import iterparse

from services.wordpress import phpdata

# WXR 1.0 to 1.2 differ only in this namespace's version (the excerpt has its own, .../export/1.x/excerpt/);
# elements are matched by local name within it.
WP_NS = "http://wordpress.org/export/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"


@dataclass
class Attachment:
    url: str
    caption: str | None = None
    title: str | None = None
    # The sizes WordPress made of it, smallest first: {"url", "width", "height"} each.
    renditions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WxrItem:
    """One `<item>` as WordPress wrote it (times are GMT, "YYYY-MM-DD HH:MM:SS")."""

    post_id: int
    post_type: str
    status: str
    title: str = ""
    link: str | None = None
    content: str = ""
    excerpt: str = ""
    creator: str | None = None
    date_gmt: str | None = None
    modified_gmt: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    attachment_url: str | None = None


def _local(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _text(element: Any) -> str:
    return (element.text or "").strip()


def _item(element: Any) -> WxrItem | None:
    values: dict[str, str] = {}
    item = WxrItem(post_id=0, post_type="", status="")
    for child in element:
        namespace, name = _local(child.tag)
        if namespace.startswith(WP_NS) and namespace.endswith("/excerpt/") and name == "encoded":
            item.excerpt = child.text or ""
        elif namespace.startswith(WP_NS) and name == "postmeta":
            key = child.findtext(f"{{{namespace}}}meta_key") or ""
            if key:
                item.meta[key] = child.findtext(f"{{{namespace}}}meta_value") or ""
        elif namespace.startswith(WP_NS):
            values[name] = _text(child)
        elif namespace == CONTENT_NS and name == "encoded":
            item.content = child.text or ""
        elif namespace == DC_NS and name == "creator":
            item.creator = _text(child) or None
        elif not namespace and name == "title":
            item.title = _text(child)
        elif not namespace and name == "link":
            item.link = _text(child) or None
        elif not namespace and name == "category":
            domain = child.get("domain")
            target = item.categories if domain == "category" else item.tags if domain == "post_tag" else None
            if target is not None and _text(child):
                target.append(_text(child))
    if not values.get("post_id", "").isdigit():
        return None  # not a post of any kind (WordPress writes post_id on every item it exports)
    item.post_id = int(values["post_id"])
    item.post_type = values.get("post_type", "")
    item.status = values.get("status", "")
    item.date_gmt = values.get("post_date_gmt") or None
    item.modified_gmt = values.get("post_modified_gmt") or None
    item.attachment_url = values.get("attachment_url") or None
    return item


def _elements(source: Path) -> Iterator[tuple[str, Any]]:
    """("author" | "item", element) for each channel-level author and item, each dropped once handed over."""
    channel = None
    for event, element in iterparse(str(source), events=("start", "end"), forbid_dtd=True):
        namespace, name = _local(element.tag)
        if event == "start":
            if name == "channel" and not namespace:
                channel = element
            continue
        if name == "item" and not namespace:
            yield "item", element
        elif name == "author" and namespace.startswith(WP_NS):
            yield "author", element
        else:
            continue
        if channel is not None:
            channel.remove(element)  # the tree never grows past one item


@dataclass
class ExportIndex:
    """What the first pass learns: attachments by id, authors by login, and how many items of each type."""

    attachments: dict[int, Attachment] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def sizes_of(url: str, metadata: str) -> list[dict[str, Any]]:
    """An attachment's sizes from its `_wp_attachment_metadata` (PHP-serialised): each size's file sits beside
    the original, whose own width and height are the largest size. Nothing when the metadata is unreadable."""
    try:
        meta = phpdata.loads(metadata) if metadata else None
    except phpdata.PhpDataError:
        return []
    if not isinstance(meta, dict):
        return []
    folder = url.rsplit("/", 1)[0]
    found = [{"url": url, "width": meta.get("width"), "height": meta.get("height")}]
    sizes = meta.get("sizes")
    for size in sizes.values() if isinstance(sizes, dict) else []:
        if isinstance(size, dict) and isinstance(size.get("file"), str) and "/" not in size["file"]:
            found.append({"url": f"{folder}/{size['file']}", "width": size.get("width"), "height": size.get("height")})
    return renditions(found)


def renditions(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sizes with a usable width, one per width, smallest first (what a `srcset` lists), at most 12."""
    by_width: dict[int, dict[str, Any]] = {}
    for size in sizes:
        width, height = size.get("width"), size.get("height")
        if isinstance(width, int) and 0 < width <= 20_000 and size.get("url"):
            fixed = {"url": size["url"], "width": width}
            if isinstance(height, int) and 0 < height <= 20_000:
                fixed["height"] = height
            # Two sizes of one width (a theme's size equal to a core one): the same pick whatever the order.
            if width not in by_width or fixed["url"] < by_width[width]["url"]:
                by_width[width] = fixed
    return [by_width[w] for w in sorted(by_width)][:12]


def index(source: Path) -> ExportIndex:
    """First pass: every attachment's URL and caption (its excerpt), the authors' display names, the counts."""
    found = ExportIndex()
    for kind, element in _elements(source):
        if kind == "author":
            namespace, _ = _local(element.tag)
            login = (element.findtext(f"{{{namespace}}}author_login") or "").strip()
            display = (element.findtext(f"{{{namespace}}}author_display_name") or "").strip()
            if login:
                found.authors[login] = display or login
            continue
        item = _item(element)
        if item is None:
            continue
        found.counts[item.post_type] = found.counts.get(item.post_type, 0) + 1
        if item.post_type == "attachment" and item.attachment_url:
            found.attachments[item.post_id] = Attachment(
                url=item.attachment_url,
                caption=item.excerpt.strip() or None,
                title=item.title or None,
                renditions=sizes_of(item.attachment_url, item.meta.get("_wp_attachment_metadata", "")),
            )
    return found


def iter_items(source: Path, *, post_type: str = "post") -> Iterator[WxrItem]:
    """Second pass: the items of one post type, in file order."""
    for kind, element in _elements(source):
        if kind == "item":
            item = _item(element)
            if item is not None and item.post_type == post_type:
                yield item
