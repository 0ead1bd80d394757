"""Turn a page of comments into what the templates render: safe bodies, clean names, dates, links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from services.publish.comments.repository import Order, ShownComment, Submission, ThreadPage
from services.publish.comments.text import clean_name, render_body
from services.publish.formatting import note_datetime
from shared.comments.tables import SHOWN, Status

ORDERS: tuple[Order, ...] = ("lama", "baru")


def anchor(comment_id: int) -> str:
    return f"komentar-{comment_id}"


def thread_path(uid: str, *, page: int = 1, order: Order = "lama", locale: str | None = None) -> str:
    """A page of the thread past what the article page shows (the article page is always page 1, oldest first)."""
    query: dict[str, Any] = {}
    if page > 1:
        query["halaman"] = page
    if order != "lama":
        query["urutan"] = order
    if locale:
        query["lang"] = locale
    return f"/komentar/{uid}" + ("?" + urlencode(query) if query else "")


def _comment(comment: ShownComment, *, locale: str) -> dict[str, Any]:
    return {
        "id": comment.id,
        "anchor": anchor(comment.id),
        "name": clean_name(comment.author_name),
        "body_html": render_body(comment.body),
        "at": comment.created_at.isoformat(),
        "when": note_datetime(comment.created_at, locale=locale),
        "replies": [_comment(r, locale=locale) for r in comment.replies],
    }


def thread_context(
    page: ThreadPage | None,
    *,
    uid: str,
    number: int,
    order: Order,
    size: int,
    open_: bool,
    locale: str | None,
) -> dict[str, Any]:
    """The `thread` a template renders; None for the page means the comments could not be read."""
    if page is None:
        return {"available": False, "uid": uid}
    pages = max(1, -(-page.top_level // size))
    return {
        "available": True,
        "uid": uid,
        "total": page.total,
        "comments": [_comment(c, locale=locale or "id") for c in page.comments],
        "page": number,
        "pages": pages,
        "order": order,
        "open": open_,
        "prev": thread_path(uid, page=number - 1, order=order, locale=locale) if number > 1 else None,
        "next": thread_path(uid, page=number + 1, order=order, locale=locale) if number < pages else None,
        "orders": {o: thread_path(uid, order=o, locale=locale) for o in ORDERS},
        "form_path": f"/komentar/{uid}/tulis",
    }


def status_context(stored: Submission | None, article: dict[str, Any] | None, *, locale: str) -> dict[str, Any]:
    """A submission as its author sees it: awaiting moderation (pending, withheld or not stored yet),
    published (with a link to it) or rejected."""
    if stored is None or stored.status not in {*SHOWN, Status.REJECTED}:
        state = "pending"
    else:
        state = "rejected" if stored.status == Status.REJECTED else "published"
    comment = None
    if stored is not None:
        comment = _comment(
            ShownComment(stored.id, stored.parent_id, stored.author_name, stored.body, stored.created_at),
            locale=locale,
        )
    url = f"{article['path']}#{anchor(stored.id)}" if article and stored and state == "published" else None
    return {"state": state, "comment": comment, "article": article, "comment_url": url}
