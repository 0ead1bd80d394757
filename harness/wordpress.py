"""The real WordPress scripts/services.sh runs: where it is, a seeder through its own REST API, its own WXR export.

Posts are shaped like the reference page (shared/data/seed): a section category, a dateline opening the first
paragraph, a "Baca juga:" block linking another seeded post's permalink, the author's initials closing the body
and a featured image uploaded through /wp/v2/media. Their text is read from the corpora at run time.
"""

from __future__ import annotations

import html
import itertools
import os
import re
import secrets
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.corpora import raw_dir, summarization

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "admin"
USER_AGENT = "kabar-wordpress-seeder/1"
# The reference page's dateline is "<outlet>-<place>. " at the start of the first paragraph.
OUTLET = "KabarWP.id"
PLACE = "Jakarta"
# The corpus's aspects, as a newsroom's section names.
SECTIONS = {
    "Ekonomi & Keuangan": "Ekonomi",
    "Hukum & Kriminalitas": "Hukum",
    "Politik & Kebijakan Publik": "Politik",
    "Pembangunan & Lingkungan": "Lingkungan",
    "Sosial & Kemasyarakatan": "Sosial",
}
DEFAULT_SECTION = "Nasional"
AUTHOR_INITIALS = ("RAG", "DNS", "TRI")
# Scraper leftovers in the corpus bodies, not the newsroom's text.
_BOILERPLATE = re.compile(r"^(SCROLL TO CONTINUE WITH CONTENT|Simak juga\b.*|Baca juga\b.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """A WordPress site and the admin's Application Password."""

    url: str
    user: str
    app_password: str = field(repr=False)

    @property
    def api(self) -> str:
        return f"{self.url}/wp-json/"


def site() -> Site:
    """The site services.sh runs: KABAR_WORDPRESS_URL (else 127.0.0.1:KABAR_WORDPRESS_PORT, 8090) and the admin's
    Application Password: KABAR_WORDPRESS_APP_PASSWORD, else services.sh's file .local/wordpress/app-password.
    """
    url = os.environ.get("KABAR_WORDPRESS_URL") or f"http://127.0.0.1:{os.environ.get('KABAR_WORDPRESS_PORT', '8090')}"
    password = os.environ.get("KABAR_WORDPRESS_APP_PASSWORD")
    if not password:
        local = Path(os.environ.get("KABAR_LOCAL_DIR") or ROOT / ".local")
        password = (local / "wordpress" / "app-password").read_text().strip()
    return Site(url=url.rstrip("/"), user=os.environ.get("KABAR_WORDPRESS_USER", ADMIN), app_password=password)


def client(wp: Site, *, timeout: float = 60.0) -> httpx.Client:
    """An httpx client on the site's REST API root, authenticated with the Application Password."""
    return httpx.Client(
        base_url=wp.api,
        auth=(wp.user, wp.app_password),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
    )


def export_wxr(content: str = "all") -> bytes:
    """WordPress's own WXR export (export_wp(), run by php-cli against the same install through services.sh)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "services.sh"), "export-wordpress", content],
        capture_output=True,
        check=True,
        timeout=300,
    )
    return done.stdout


def png(width: int, height: int, *, shade: int = 0) -> bytes:
    """A small RGB PNG made here (a diagonal gradient), big enough for WordPress's thumbnail to large sizes."""
    reds = bytes((x * 255 // max(width - 1, 1) + shade) & 0xFF for x in range(width))
    raw = bytearray()
    row = bytearray(3 * width)
    row[0::3] = reds
    row[2::3] = bytes([(shade * 3) & 0xFF]) * width
    for y in range(height):
        row[1::3] = bytes([y * 255 // max(height - 1, 1)]) * width
        raw += b"\x00" + row  # filter type: none

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + chunk(b"IEND", b"")
    )


def sample_articles(count: int, *, offset: int = 0) -> list[dict[str, Any]]:
    """`count` corpus articles (indonesian-news-summarization-dataset), taking the sections in turn."""
    by_section: dict[str, list[dict[str, Any]]] = {}
    for article in itertools.islice(summarization(raw_dir()), offset, None):
        by_section.setdefault(article.get("section") or "", []).append(article)
    picked: list[dict[str, Any]] = []
    for group in itertools.zip_longest(*by_section.values()):
        picked.extend(article for article in group if article is not None)
        if len(picked) >= count:
            break
    return picked[:count]


def _paragraphs(article: dict[str, Any]) -> list[str]:
    return [p.strip() for p in article["body_paragraphs"] if p.strip() and not _BOILERPLATE.match(p.strip())]


def _block(text_html: str) -> str:
    return f"<!-- wp:paragraph -->\n<p>{text_html}</p>\n<!-- /wp:paragraph -->"


def post_content(paragraphs: list[str], *, initials: str, related: tuple[str, str] | None) -> str:
    """Gutenberg paragraphs: dateline first, "Baca juga:" after the third paragraph, the initials last."""
    blocks = [_block(html.escape(p, quote=False)) for p in paragraphs]
    if blocks:
        blocks[0] = _block(f"{OUTLET}-{PLACE}. " + html.escape(paragraphs[0], quote=False))
    if related is not None:
        title, link = related
        baca = _block(
            f'<strong>Baca juga:</strong> <a href="{html.escape(link)}">{html.escape(title, quote=False)}</a>'
        )
        blocks.insert(min(3, len(blocks)), baca)
    blocks.append(_block(html.escape(initials)))
    return "\n\n".join(blocks)


def _excerpt(paragraphs: list[str]) -> str:
    first = paragraphs[0] if paragraphs else ""
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return sentence[:300]


def _date_gmt(published_at: str) -> str:
    """The corpus date in UTC, never in the future (WordPress would schedule the post instead of publishing it)."""
    when = datetime.fromisoformat(published_at).astimezone(UTC)
    latest = datetime.now(UTC) - timedelta(hours=1)
    return min(when, latest).strftime("%Y-%m-%dT%H:%M:%S")


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.is_error:
        raise RuntimeError(
            f"WordPress {response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


def _term(api: httpx.Client, taxonomy: str, name: str) -> int:
    """The id of the category or tag called `name`, created when missing."""
    response = api.post(f"wp/v2/{taxonomy}", json={"name": name})
    if response.status_code == 400 and response.json().get("code") == "term_exists":
        return int(response.json()["data"]["term_id"])
    return int(_ok(response)["id"])


def _author(api: httpx.Client, initials: str) -> int:
    """A newsroom author whose display name is the initials the reference page signs with (created once)."""
    login = f"kabar-{initials.lower()}"
    found = api.get("wp/v2/users", params={"slug": login, "context": "edit"})
    if users := _ok_list(found):
        return int(users[0]["id"])
    created = api.post(
        "wp/v2/users",
        json={
            "username": login,
            "slug": login,
            "name": initials,
            "nickname": initials,
            "email": f"{login}@example.invalid",
            "password": secrets.token_urlsafe(24),
            "roles": ["author"],
        },
    )
    return int(_ok(created)["id"])


def _ok_list(response: httpx.Response) -> list[dict[str, Any]]:
    if response.is_error:
        raise RuntimeError(f"WordPress {response.request.url}: {response.status_code} {response.text[:500]}")
    items: list[dict[str, Any]] = response.json()
    return items


def upload_image(api: httpx.Client, *, filename: str, data: bytes, caption: str, alt: str) -> dict[str, Any]:
    """An image uploaded through /wp/v2/media (WordPress makes its sizes with GD), with caption and alt text."""
    media = _ok(
        api.post(
            "wp/v2/media",
            content=data,
            headers={"Content-Type": "image/png", "Content-Disposition": f'attachment; filename="{filename}"'},
        )
    )
    return _ok(api.post(f"wp/v2/media/{media['id']}", json={"caption": caption, "alt_text": alt}))


@dataclass
class SeededPost:
    id: int
    slug: str
    link: str
    title: str
    section: str
    tags: list[str]
    author: str
    featured_media: int
    related_link: str | None = None


@dataclass
class Seeded:
    """What seed() made: its posts (in order), the run's tag and the media, for tests and for clear()."""

    run: str
    run_tag_id: int
    posts: list[SeededPost] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)

    def __iter__(self) -> Iterator[SeededPost]:
        return iter(self.posts)


def seed(api: httpx.Client, *, run: str, count: int = 12, offset: int = 0) -> Seeded:
    """Publish `count` Indonesian posts tagged with the run's own tag; each one's "Baca juga" links the one
    before it (the first links the last), so every link is a permalink of this site."""
    articles = sample_articles(count, offset=offset)
    authors = {initials: _author(api, initials) for initials in AUTHOR_INITIALS}
    seeded = Seeded(run=run, run_tag_id=_term(api, "tags", f"kabar-run-{run}"))
    bodies: list[list[str]] = []
    for i, article in enumerate(articles):
        paragraphs = _paragraphs(article) or [article["title"]]
        bodies.append(paragraphs)
        section = SECTIONS.get(article.get("section") or "", DEFAULT_SECTION)
        tags = [t for t in article.get("tags", []) if t]
        initials = AUTHOR_INITIALS[i % len(AUTHOR_INITIALS)]
        image = upload_image(
            api,
            filename=f"kabar-{run}-{i}.png",
            data=png(1200, 675, shade=i * 37),
            caption=f"Ilustrasi: {article['title']} (Foto: {OUTLET})",
            alt=article["title"],
        )
        seeded.media_ids.append(int(image["id"]))
        previous = seeded.posts[-1] if seeded.posts else None
        related = (previous.title, previous.link) if previous else None
        post = _ok(
            api.post(
                "wp/v2/posts",
                json={
                    "title": article["title"],
                    "slug": f"{_slug(article['title'])}-{run}",
                    "content": post_content(paragraphs, initials=initials, related=related),
                    "excerpt": _excerpt(paragraphs),
                    "status": "publish",
                    "date_gmt": _date_gmt(article["published_at"]),
                    "categories": [_term(api, "categories", section)],
                    "tags": [seeded.run_tag_id, *(_term(api, "tags", t) for t in tags)],
                    "author": authors[initials],
                    "featured_media": image["id"],
                },
            )
        )
        seeded.posts.append(
            SeededPost(
                id=int(post["id"]),
                slug=post["slug"],
                link=post["link"],
                title=article["title"],
                section=section,
                tags=tags,
                author=initials,
                featured_media=int(image["id"]),
                related_link=previous.link if previous else None,
            )
        )
    if len(seeded.posts) > 1:
        first, last = seeded.posts[0], seeded.posts[-1]
        content = post_content(bodies[0], initials=first.author, related=(last.title, last.link))
        _ok(api.post(f"wp/v2/posts/{first.id}", json={"content": content}))
        first.related_link = last.link
    return seeded


def clear(api: httpx.Client, seeded: Seeded) -> None:
    """Delete what seed() made for this run (posts, media, the run's tag); shared terms and authors stay."""
    for post in seeded.posts:
        api.delete(f"wp/v2/posts/{post.id}", params={"force": "true"})
    for media_id in seeded.media_ids:
        api.delete(f"wp/v2/media/{media_id}", params={"force": "true"})
    api.delete(f"wp/v2/tags/{seeded.run_tag_id}", params={"force": "true"})


def _slug(title: str) -> str:
    words = re.findall(r"[0-9a-z]+", title.lower())
    return "-".join(words)[:80].rstrip("-") or "berita"
