"""The WordPress scripts/services.sh runs for the bridge's tests (`make test` starts it): loopback only, its own
unprivileged users, seeded through its REST API with an Application Password, exported by its own exporter."""

from __future__ import annotations

import math
import os
import pwd
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from defusedxml import ElementTree

from harness import wordpress

pytestmark = pytest.mark.skipif(os.environ.get("KABAR_WORDPRESS") == "off", reason="KABAR_WORDPRESS=off: no WordPress")

WP_NS = "{http://wordpress.org/export/1.2/}"
PERMALINK = re.compile(r"^/\d{4}/\d{2}/\d{2}/[0-9a-z-]+/$")


@pytest.fixture(scope="module")
def site() -> wordpress.Site:
    return wordpress.site()


@pytest.fixture(scope="module")
def api(site: wordpress.Site) -> Iterator[httpx.Client]:
    with wordpress.client(site) as client:
        yield client


@pytest.fixture(scope="module")
def seeded(api: httpx.Client) -> Iterator[wordpress.Seeded]:
    made = wordpress.seed(api, run=uuid.uuid4().hex[:8], count=12)
    yield made
    wordpress.clear(api, made)


def listening(port: int) -> list[tuple[str, int]]:
    """(local address, socket inode) of every TCP socket listening on `port`, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                found.append((address, int(fields[9])))
    return found


def owners(inodes: set[int]) -> dict[int, tuple[int, str]]:
    """pid -> (uid, name) of the processes holding any of these socket inodes."""
    marks = {f"socket:[{inode}]" for inode in inodes}
    result = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in marks for fd in (proc / "fd").iterdir()):
                status = dict(
                    line.split(":\t", 1) for line in (proc / "status").read_text().splitlines() if ":\t" in line
                )
                result[int(proc.name)] = (int(status["Uid"].split()[1]), status["Name"].strip())
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return result


def assert_loopback_only_as(port: int, *, user: str, name: str) -> None:
    """Every listening socket on `port` is bound to 127.0.0.1 and held only by `user`'s `name` processes."""
    sockets = listening(port)
    assert sockets, f"nothing listens on {port}"
    # 0100007F is 127.0.0.1 in /proc's little-endian hex.
    assert {address for address, _ in sockets} == {"0100007F"}
    uid = pwd.getpwnam(user).pw_uid
    assert uid != 0
    holders = owners({inode for _, inode in sockets})
    assert holders
    for pid, (holder_uid, holder_name) in holders.items():
        assert holder_uid == uid, (pid, holder_uid)
        assert holder_name.startswith(name), (pid, holder_name)


def test_wordpress_listens_on_loopback_only_as_kabar_wp(site: wordpress.Site) -> None:
    port = urlsplit(site.url).port
    assert port is not None
    assert_loopback_only_as(port, user="kabar-wp", name="php")


def test_mariadb_listens_on_loopback_only_as_kabar_mariadb() -> None:
    assert_loopback_only_as(int(os.environ.get("KABAR_MARIADB_PORT", "3307")), user="kabar-mariadb", name="mariadbd")


def test_application_password_authenticates_and_a_bad_one_is_401(site: wordpress.Site, api: httpx.Client) -> None:
    me = api.get("wp/v2/users/me", params={"context": "edit"})
    assert me.status_code == 200
    assert me.json()["username"] == site.user
    bad = httpx.get(f"{site.api}wp/v2/users/me", auth=(site.user, "abcd efgh ijkl mnop qrst uvwx"), timeout=30)
    assert bad.status_code == 401
    assert bad.json()["code"] in {"incorrect_password", "rest_not_logged_in"}
    anonymous = httpx.get(f"{site.api}wp/v2/users/me", timeout=30)
    assert anonymous.status_code == 401


def test_rest_api_lists_the_seeded_posts_with_embeds(api: httpx.Client, seeded: wordpress.Seeded) -> None:
    response = api.get("wp/v2/posts", params={"tags": seeded.run_tag_id, "_embed": 1, "per_page": 100})
    assert response.status_code == 200
    posts = {post["id"]: post for post in response.json()}
    assert set(posts) == {post.id for post in seeded}
    links = {post.link for post in seeded}
    for want in seeded:
        got = posts[want.id]
        assert got["status"] == "publish"
        assert got["link"] == want.link
        assert PERMALINK.match(urlsplit(got["link"]).path), got["link"]
        embedded = got["_embedded"]
        assert embedded["author"][0]["name"] == want.author
        terms = [(term["taxonomy"], term["name"]) for group in embedded["wp:term"] for term in group]
        assert [name for taxonomy, name in terms if taxonomy == "category"] == [want.section]
        assert set(want.tags) <= {name for taxonomy, name in terms if taxonomy == "post_tag"}
        media = embedded["wp:featuredmedia"][0]
        assert media["id"] == want.featured_media
        assert media["media_type"] == "image"
        sizes = media["media_details"]["sizes"]
        assert {"thumbnail", "medium", "medium_large", "large", "full"} <= set(sizes)
        assert sizes["thumbnail"]["width"] == 150
        assert "Foto:" in media["caption"]["rendered"]
        content = got["content"]["rendered"]
        assert content.lstrip().startswith(f"<p>{wordpress.OUTLET}-{wordpress.PLACE}. ")
        baca = re.search(r'<strong>Baca juga:</strong> <a href="([^"]+)">', content)
        assert baca, content[:500]
        assert baca.group(1) == want.related_link
        assert baca.group(1) in links - {want.link}
        assert content.rstrip().endswith(f"<p>{want.author}</p>")


def test_pagination_headers_walk_every_post_once(api: httpx.Client, seeded: wordpress.Seeded) -> None:
    """By id: posts sharing a date come back in no fixed order, so a walk by date can repeat or skip one."""
    per_page = 5
    first = api.get(
        "wp/v2/posts",
        params={"tags": seeded.run_tag_id, "per_page": per_page, "orderby": "id", "order": "asc", "page": 1},
    )
    total = int(first.headers["X-WP-Total"])
    pages = int(first.headers["X-WP-TotalPages"])
    assert total == len(seeded.posts)
    assert pages == math.ceil(total / per_page) > 1
    seen = [post["id"] for post in first.json()]
    for page in range(2, pages + 1):
        response = api.get(
            "wp/v2/posts",
            params={"tags": seeded.run_tag_id, "per_page": per_page, "orderby": "id", "order": "asc", "page": page},
        )
        assert response.status_code == 200
        seen += [post["id"] for post in response.json()]
    assert sorted(seen) == sorted(post.id for post in seeded)
    beyond = api.get(
        "wp/v2/posts",
        params={"tags": seeded.run_tag_id, "per_page": per_page, "orderby": "id", "order": "asc", "page": pages + 1},
    )
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "rest_post_invalid_page_number"


def test_wxr_export_holds_the_seeded_published_posts(seeded: wordpress.Seeded) -> None:
    root = ElementTree.fromstring(wordpress.export_wxr("all"))
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext(f"{WP_NS}wxr_version") == "1.2"
    items = channel.findall("item")
    published = {
        int(item.findtext(f"{WP_NS}post_id") or 0): item
        for item in items
        if item.findtext(f"{WP_NS}post_type") == "post" and item.findtext(f"{WP_NS}status") == "publish"
    }
    attachments = {
        int(item.findtext(f"{WP_NS}post_id") or 0)
        for item in items
        if item.findtext(f"{WP_NS}post_type") == "attachment"
    }
    for want in seeded:
        item = published[want.id]
        assert item.findtext("title") == want.title
        assert item.findtext("link") == want.link
        categories = {(c.get("domain"), c.text) for c in item.findall("category")}
        assert ("category", want.section) in categories
        assert want.featured_media in attachments
        thumbnail = [
            meta.findtext(f"{WP_NS}meta_value")
            for meta in item.findall(f"{WP_NS}postmeta")
            if meta.findtext(f"{WP_NS}meta_key") == "_thumbnail_id"
        ]
        assert thumbnail == [str(want.featured_media)]
