"""A WordPress post (REST API `wp/v2/posts?_embed`, or a WXR item) as the article Kabar's ingest API takes.

Both ways in give the same article for the same post, so an import followed by a pull changes nothing:
the external id is the post id, the version its GMT modification time, the canonical URL its permalink
(which is also how "Baca juga" links between posts of the site resolve: by href).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from services.wordpress.content import clean_content
from services.wordpress.wxr import Attachment, WxrItem, renditions
from shared.text import strip_tags

# Post statuses readers may see: now, or (scheduled) from the post's date, as an embargo. Every other one
# (draft, pending, private, trash) is unpublished.
PUBLISHED = "publish"
SCHEDULED = "future"
SENT = (PUBLISHED, SCHEDULED)


def external_id(post_id: int) -> str:
    return f"wp:{post_id}"


def gmt(value: str | None) -> datetime | None:
    """WordPress's GMT times ("2024-05-01T03:04:05" in REST, "2024-05-01 03:04:05" in WXR), aware.

    WXR writes "0000-00-00 00:00:00" for a post never published: no time at all.
    """
    if not value or value.startswith("0000"):
        return None
    return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC)


def version_of(modified: datetime | None, published: datetime | None, *, rendered: bool, live: bool) -> int | None:
    """The post's version: its modification time in seconds, then two tie-breaks in the low bits.

    - `live` (published now, not scheduled): WordPress publishes a scheduled post without touching its
      modification time, and Kabar refuses a second, different article under a version it has already.
    - `rendered` (the site's own HTML, from the REST API or the plugin, over our reading of the raw text in
      an export): an import after a pull never replaces the site's rendering with a rougher one, and a pull
      after an import upgrades it.
    """
    when = modified or published
    if when is None:
        return None
    return int(when.timestamp()) * 4 + (2 if rendered else 0) + (1 if live else 0)


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(strip_tags(fragment)).split())


def _article(
    *,
    post_id: int,
    status: str,
    rendered: bool,
    title: str,
    content: str,
    excerpt: str,
    link: str | None,
    published: datetime | None,
    modified: datetime | None,
    categories: list[str],
    tags: list[str],
    authors: list[str],
    image: Attachment | None,
) -> dict[str, Any]:
    article: dict[str, Any] = {
        "external_id": external_id(post_id),
        "title": _plain(title)[:300] or f"({post_id})",
        "body": clean_content(content),
        "section": categories[0] if categories else None,
        "tags": [tag for tag in dict.fromkeys(_plain(t) for t in tags) if tag][:50],
        "authors": [a for a in authors if a][:20],
        "published_at": published.isoformat() if published else None,
        "updated_at": modified.isoformat() if modified and modified != published else None,
        "canonical_url": link,
        "version": version_of(modified, published, rendered=rendered, live=status == PUBLISHED),
    }
    if status == SCHEDULED and published is not None:
        article["embargo_until"] = published.isoformat()
    dek = _plain(excerpt)
    if dek:
        article["dek"] = dek[:1000]
    if image is not None:
        picture: dict[str, Any] = {"url": image.url, "caption": image.caption and _plain(image.caption)}
        if image.renditions:
            picture["renditions"] = image.renditions
        article["images"] = [picture]
    return {key: value for key, value in article.items() if value not in (None, [], "")}


def _terms(post: dict[str, Any], taxonomy: str) -> list[str]:
    groups = post.get("_embedded", {}).get("wp:term") or []
    return [term.get("name", "") for group in groups for term in group or [] if term.get("taxonomy") == taxonomy]


def _featured(post: dict[str, Any]) -> Attachment | None:
    media = (post.get("_embedded", {}).get("wp:featuredmedia") or [None])[0]
    if not isinstance(media, dict) or not media.get("source_url"):
        return None  # none, or one the API would not show (an "rest_forbidden" entry)
    caption = (media.get("caption") or {}).get("rendered") or None
    sizes = ((media.get("media_details") or {}).get("sizes") or {}).values()
    found = renditions([{**size, "url": size.get("source_url")} for size in sizes if isinstance(size, dict)])
    title = (media.get("title") or {}).get("rendered")
    return Attachment(url=media["source_url"], caption=caption, title=title, renditions=found)


def from_rest(post: dict[str, Any]) -> dict[str, Any]:
    """A post of `GET /wp-json/wp/v2/posts?_embed` (with `context=edit` when the bridge may: raw fields)."""
    title, excerpt = post.get("title") or {}, post.get("excerpt") or {}
    return _article(
        post_id=int(post["id"]),
        status=post.get("status", PUBLISHED),
        rendered=True,
        # What the editor typed, when the API shows it (context=edit): the rendered title and excerpt carry
        # the theme's typography (curly quotes, dashes), which an export and the plugin do not.
        title=title["raw"] if "raw" in title else title.get("rendered", ""),
        content=(post.get("content") or {}).get("rendered", ""),
        excerpt=excerpt["raw"] if excerpt.get("raw") else excerpt.get("rendered", ""),
        link=post.get("link"),
        published=gmt(post.get("date_gmt")),
        modified=gmt(post.get("modified_gmt")),
        categories=[html.unescape(name) for name in _terms(post, "category")],
        tags=_terms(post, "post_tag"),
        authors=[a.get("name", "") for a in post.get("_embedded", {}).get("author") or [] if isinstance(a, dict)],
        image=_featured(post),
    )


def from_wxr(item: WxrItem, *, authors: dict[str, str], attachments: dict[int, Attachment]) -> dict[str, Any]:
    """An item of a WXR export (see wxr.py), with the export's authors and attachments."""
    thumbnail = item.meta.get("_thumbnail_id", "")
    creator = item.creator or ""
    return _article(
        post_id=item.post_id,
        status=item.status,
        rendered=False,
        title=item.title,
        content=item.content,
        excerpt=item.excerpt,
        link=item.link,
        published=gmt(item.date_gmt),
        modified=gmt(item.modified_gmt),
        categories=[html.unescape(name) for name in item.categories],
        tags=item.tags,
        authors=[authors.get(creator, creator)] if creator else [],
        image=attachments.get(int(thumbnail)) if thumbnail.isdigit() else None,
    )
