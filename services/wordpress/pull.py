"""Pull a WordPress site into Kabar through its REST API, incrementally, resumably and politely.

The cursor is the GMT modification time of the last post Kabar accepted, kept in Redis per site. Each page
is asked for afresh with `modified_after` = the cursor (posts ordered by modification time, oldest first),
instead of walking page numbers: a post edited during the run moves to the end of the listing and would
shift every later page by one, and a page-number walk would skip a post. The cursor moves only after Kabar
answered 2xx for the page, so a run killed at any point resumes where Kabar's state ends; a page sent twice
comes back `unchanged` (same version: the post's modification time).

With an application password the bridge sees every status: published and scheduled posts are sent (a
scheduled one with an embargo until its date), drafts, pending, private and trashed ones are unpublished.
Deleted posts leave no trace in WordPress's API, so `reconcile` compares the ids WordPress lists with the
ids the bridge has published and deletes the missing ones (unpublishes them when it cannot see every
status, since a post it cannot see may only be private).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr
from redis import Redis
from redis.exceptions import WatchError
from tqdm import tqdm

from services.wordpress.http import BridgeHTTPError, request
from services.wordpress.mapping import PUBLISHED, SENT, external_id, from_rest, gmt
from services.wordpress.sink import IngestSink, Tally

# Every status an authenticated listing may ask for; a post in any of these but publish/future is unpublished.
ALL_STATUSES = ("publish", "future", "draft", "pending", "private", "trash")


class Site(BaseModel):
    """One WordPress site feeding one newsroom (KABAR_WORDPRESS_SITES holds a JSON list of these)."""

    url: str
    newsroom: str
    username: str | None = None
    app_password: SecretStr | None = None

    @property
    def key(self) -> str:
        """Names the cursor and published ids in Redis (a URL can be long and hold anything). Per newsroom too:
        two newsrooms fed from one site (a group's shared CMS) each get every post."""
        name = f"{self.newsroom}\x00{self.url.rstrip('/').lower()}"
        return hashlib.sha256(name.encode()).hexdigest()[:20]

    @property
    def authenticated(self) -> bool:
        return bool(self.username and self.app_password)

    def auth(self) -> tuple[str, str] | None:
        if self.username and self.app_password:
            return self.username, self.app_password.get_secret_value()
        return None


@dataclass
class SiteState:
    """The bridge's memory of one site, in Redis: the cursor and the post ids Kabar has as published."""

    redis: Redis
    prefix: str
    site: Site

    @property
    def _base(self) -> str:
        return f"{self.prefix}:wordpress:{self.site.key}"

    def cursor(self) -> datetime | None:
        return _cursor(self.redis.get(f"{self._base}:cursor"))

    def advance(self, to: datetime) -> None:
        """Move the cursor on, never back: two runs of one site at once (a beat tick while an operator pulls,
        on any hosts) both move it. Compare-and-set (WATCH): a write by the other run between this one's read
        and its write makes it read again."""
        key = f"{self._base}:cursor"
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    current = _cursor(pipe.get(key))
                    if current is not None and to <= current:
                        pipe.unwatch()
                        return
                    pipe.multi()
                    pipe.set(key, to.isoformat())
                    pipe.execute()
                    return
                except WatchError:
                    continue

    def published(self, ids: list[int], removed: list[int]) -> None:
        pipe = self.redis.pipeline()
        if ids:
            pipe.sadd(f"{self._base}:published", *ids)
        if removed:
            pipe.srem(f"{self._base}:published", *removed)
        pipe.execute()

    def published_ids(self) -> set[int]:
        return {int(v) for v in self.redis.smembers(f"{self._base}:published")}

    def reset(self) -> None:
        self.redis.delete(f"{self._base}:cursor", f"{self._base}:published")


def _cursor(raw: bytes | str | None) -> datetime | None:
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw)) if raw else None


def gmt_offset(wp: httpx.Client) -> timedelta:
    """The site's offset from GMT (its REST index says it): `modified_after` compares local times."""
    response = request(wp, "GET", "/wp-json/")
    if response.status_code != 200:
        raise BridgeHTTPError(f"GET /wp-json/: {response.status_code}")
    return timedelta(hours=float(response.json().get("gmt_offset") or 0))


def check_credentials(wp: httpx.Client, site: Site) -> None:
    """Public listings answer a wrong application password as if none were sent (anonymous, published posts
    only): the bridge would then take every draft for deleted. Ask who we are first."""
    if not site.authenticated:
        return
    response = request(wp, "GET", "/wp-json/wp/v2/users/me", params={"context": "edit"})
    if response.status_code != 200:
        raise BridgeHTTPError(
            f"WordPress refused the application password of {site.username!r}: {response.status_code}"
        )


def _stamp(when: datetime, offset: timedelta) -> str:
    """A GMT time as the site's local time, as `modified_after`/`modified_before` compare them."""
    return (when + offset).strftime("%Y-%m-%dT%H:%M:%S")


def _newest(posts: list[dict[str, Any]]) -> datetime:
    return max(gmt(p.get("modified_gmt")) or datetime.min.replace(tzinfo=UTC) for p in posts)


def _query(
    wp: httpx.Client, site: Site, params: dict[str, Any], per_page: int, page: int
) -> tuple[list[dict[str, Any]], int, int]:
    """(posts, total, total pages) of one page of a listing; past the last page is an empty one."""
    params = {"_embed": "1", "per_page": per_page, "page": page, "order": "asc", **params}
    if site.authenticated:
        params |= {"status": ",".join(ALL_STATUSES), "context": "edit"}
    else:
        params["status"] = PUBLISHED
    response = request(wp, "GET", "/wp-json/wp/v2/posts", params=params)
    if response.status_code == 400 and page > 1:
        return [], 0, 0  # rest_post_invalid_page_number: the listing shrank under us
    if response.status_code != 200:
        raise BridgeHTTPError(f"GET posts: {response.status_code} {response.text[:300]}")
    posts = response.json()
    return posts, int(response.headers.get("x-wp-total", len(posts))), int(response.headers.get("x-wp-totalpages", 1))


def _pages(
    wp: httpx.Client, site: Site, cursor: datetime | None, offset: timedelta, per_page: int
) -> Iterator[tuple[list[dict[str, Any]], int, datetime | None]]:
    """(posts, posts left including these, cursor once they are in Kabar), oldest modification first.

    Each step asks for the first page modified after the cursor, less a second (`after` is exclusive and
    WordPress keeps seconds, so posts of the cursor's own second may be unsent; sent again they come back
    `unchanged`). When a whole page falls within that second or the cursor's (a bulk edit), asking again
    would return the same page for ever, and WordPress orders posts of equal times differently from one
    page to the next: that window is walked by id instead, with page numbers, and the cursor then moves a
    second past it. (A post edited again within that very second, during the walk, waits for its next edit
    or the reconcile; WordPress's one-second resolution leaves no better handle.)
    """
    while True:
        params: dict[str, Any] = {"orderby": "modified"}
        if cursor is not None:
            params["modified_after"] = _stamp(cursor - timedelta(seconds=1), offset)
        posts, total, pages = _query(wp, site, params, per_page, 1)
        if not posts:
            return
        newest = _newest(posts)
        oldest = min(gmt(p.get("modified_gmt")) or newest for p in posts)
        stuck = pages > 1 and (newest <= cursor if cursor is not None else newest == oldest)
        if not stuck:
            yield posts, total, newest
            if pages <= 1:
                return
            cursor = newest
            continue
        window = {**params, "orderby": "id", "modified_before": _stamp(newest + timedelta(seconds=1), offset)}
        page, last = 1, 1
        while page <= last:
            posts, total, last = _query(wp, site, window, per_page, page)
            if not posts:
                break
            # The cursor stays put until the whole window is in: a crash inside it walks it again.
            yield posts, total, (newest + timedelta(seconds=1)) if page >= last else cursor
            page += 1
        cursor = newest + timedelta(seconds=1)


def _split(posts: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """(articles to send, ids sent as published, ids to unpublish)."""
    articles: list[dict[str, Any]] = []
    shown: list[int] = []
    hidden: list[int] = []
    for post in posts:
        if post.get("status") in SENT:
            articles.append(from_rest(post))
            shown.append(int(post["id"]))
        else:
            hidden.append(int(post["id"]))
    return articles, shown, hidden


def pull(
    site: Site,
    *,
    wp: httpx.Client,
    sink: IngestSink,
    state: SiteState,
    per_page: int = 50,
    progress: bool = False,
    max_pages: int | None = None,
) -> Tally:
    """Send every post changed since the cursor (or the first `max_pages` pages of them: the periodic task
    bounds each run and the next one carries on from the cursor); returns what Kabar answered."""
    tally = Tally()
    check_credentials(wp, site)
    offset = gmt_offset(wp)
    bar = tqdm(desc=f"pull {site.url}", unit="post", disable=not progress)
    pages = 0
    try:
        for posts, left, cursor in _pages(wp, site, state.cursor(), offset, per_page):
            if bar.total is None:
                bar.total = left
            articles, shown, hidden = _split(posts)
            tally.add(sink.upsert(articles))
            for post_id in hidden:
                if sink.unpublish(external_id(post_id)):
                    tally.unpublished += 1
            state.published(shown, hidden)
            if cursor is not None:
                state.advance(cursor)
            bar.update(len(posts))
            pages += 1
            if max_pages is not None and pages >= max_pages:
                break
    finally:
        bar.close()
    return tally


def listed_ids(wp: httpx.Client, site: Site, per_page: int = 100) -> set[int]:
    """Every post id WordPress lists to the bridge (all statuses when authenticated)."""
    ids: set[int] = set()
    page = 1
    while True:
        params = {
            "_fields": "id",
            "per_page": per_page,
            "page": page,
            # By id: WordPress orders equal dates differently from page to page, and an id missed here would
            # be taken for a deleted post.
            "orderby": "id",
            "order": "asc",
            "status": ",".join(ALL_STATUSES) if site.authenticated else PUBLISHED,
        }
        response = request(wp, "GET", "/wp-json/wp/v2/posts", params=params)
        if response.status_code == 400 and page > 1:
            return ids
        if response.status_code != 200:
            raise BridgeHTTPError(f"GET post ids: {response.status_code}")
        ids |= {int(p["id"]) for p in response.json()}
        if page >= int(response.headers.get("x-wp-totalpages", 1)):
            return ids
        page += 1


def reconcile(site: Site, *, wp: httpx.Client, sink: IngestSink, state: SiteState) -> Tally:
    """Take down what Kabar has from this site and WordPress no longer lists."""
    tally = Tally()
    check_credentials(wp, site)
    missing = sorted(state.published_ids() - listed_ids(wp, site))
    for post_id in missing:
        if site.authenticated:
            tally.deleted += sink.delete(external_id(post_id))
        else:
            tally.unpublished += sink.unpublish(external_id(post_id))
    state.published([], missing)
    return tally
