"""The edge cache for real: Varnish with xkey in front of publish, purged by the index workers.

Pages carry the right surrogate keys and lifetimes and are served from the edge; an update and a
withdrawal purge exactly the pages that show the story; with publish stopped the edge keeps serving
what it has, but never a withdrawn story; search, the newsroom API and private endpoints never come
from the cache.
"""

from __future__ import annotations

import gzip
import time

import httpx
import pytest

from harness.edge import path_of
from harness.procs import wait_until
from shared.purge import FEEDS, HOME, SITEMAPS, article_key, author_key, section_key, shows_key, tag_key
from tests.integration.edge.conftest import EdgeStack, Publisher, wait_status

# The freshness target (bench.freshness: p95 write -> searchable < 2.5 s): a withdrawal must be a 410 at
# the edge within it.
FRESHNESS_S = 2.5


def _cache(response: httpx.Response) -> str:
    return response.headers.get("x-cache", "")


def _warm(client: httpx.Client, *paths: str) -> None:
    """Each path fetched until the edge serves it from its cache."""
    for path in paths:

        def kept(p: str = path) -> bool:
            first = client.get(p)
            assert first.status_code == 200, (p, first.status_code)
            return _cache(client.get(p)) == "HIT"

        # A late purge (a story's list stored, the purge once a change is searchable) may drop the copy
        # between the two reads: that is the edge working, so read again; a page never kept still fails.
        wait_until(kept, timeout=20, what=f"{path} kept at the edge")


def _quiet(stack: EdgeStack, *uids: str) -> None:
    """Wait out new stories' own late purges: their related lists are stored, then the purge that follows
    once search shows them (whole seconds of search_visibility_seconds, 1.5 s) has had time to land."""
    for uid in uids:
        wait_until(lambda u=uid: stack.es.options(ignore_status=404).get(index=stack.names.related, id=u).get("found"))
    time.sleep(3)


def test_pages_carry_surrogate_keys_and_lifetimes_and_come_from_the_edge(
    stack: EdgeStack, edge: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    state = publish_article(
        f"keys-{unique}",
        title=f"Banjir rob {unique} rendam pesisir",
        section=f"Pesisir {unique}",
        tags=[f"Rob {unique}"],
        authors=[f"Sari {unique}"],
    )
    uid, path = state["uid"], path_of(state)
    _quiet(stack, uid)
    section_slug = path.split("/")[1]
    tag, author = f"Rob {unique}", f"Sari {unique}"
    expected = {
        path: {article_key(uid)},
        "/": {HOME, shows_key(uid)},
        f"/{section_slug}": {section_key(section_slug), shows_key(uid)},
        f"/topik/{tag}": {tag_key(tag), shows_key(uid)},
        f"/penulis/{author}": {author_key(author), shows_key(uid)},
        "/rss.xml": {FEEDS},
        f"/{section_slug}/atom.xml": {FEEDS, section_key(section_slug)},
        "/sitemaps/news.xml": {SITEMAPS},
        f"/api/v1/articles/{uid}": {article_key(uid)},
    }
    with httpx.Client(base_url=stack.main.publish_url, timeout=30) as direct:
        for url, keys in expected.items():
            # The lists are searches: the story is in them once the index refreshed.
            response = wait_until(
                lambda u=url, k=keys: (
                    (r := direct.get(u)).status_code == 200 and k <= set(r.headers.get("xkey", "").split()) and r
                ),
                timeout=10,
                what=f"{url} with its keys",
            )
            assert response.headers["surrogate-control"] == (
                "max-age=300, stale-while-revalidate=30, stale-if-error=86400"
            ), url

    # Browsers get publish's own short lifetime; the edge's keys and lifetime never leave the edge.
    def read_twice() -> tuple[httpx.Response, httpx.Response] | None:
        first = edge.get(path)
        time.sleep(1.1)
        again = edge.get(path)
        return (first, again) if _cache(again) == "HIT" else None

    # A new story's own late purges (its related list stored, the purge once it is searchable) may land
    # between the two reads and rightly drop the copy: read again until one pair shows it kept.
    first, again = wait_until(read_twice, timeout=20, what="the second read of a page a HIT at the edge")
    assert first.status_code == 200
    assert "xkey" not in first.headers and "surrogate-control" not in first.headers
    assert first.headers["cache-control"].startswith("public, max-age=10")
    assert int(again.headers["age"]) >= 1  # the edge's copy, kept beyond publish's 10 s browser lifetime
    assert again.text == first.text
    for url in expected:
        _warm(edge, url)


def test_conditional_requests_and_gzip_at_the_edge(
    stack: EdgeStack, edge: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    state = publish_article(f"cond-{unique}", title=f"Pasar malam {unique} dibuka lagi")
    path = path_of(state)
    _quiet(stack, state["uid"])
    _warm(edge, path)
    plain = edge.get(path)
    zipped = edge.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and _cache(zipped) == "HIT"
    # The wire bytes are smaller and unzip to the very page (httpx would decode them itself: read raw).
    with edge.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert len(raw) < len(plain.content) and gzip.decompress(raw) == plain.content
    etag, last_modified = plain.headers["etag"], plain.headers["last-modified"]
    by_tag = edge.get(path, headers={"If-None-Match": etag})
    assert by_tag.status_code == 304 and _cache(by_tag) == "HIT" and not by_tag.content
    by_date = edge.get(path, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304 and _cache(by_date) == "HIT"
    assert edge.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_an_update_purges_the_article_its_lists_and_the_pages_that_show_it(
    stack: EdgeStack, edge: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    section = f"Ekonomi {unique}"
    a = publish_article(
        f"upd-a-{unique}", title=f"Harga cabai {unique} naik", section=section, tags=[f"cabai {unique}"]
    )
    b = publish_article(
        f"upd-b-{unique}",
        title=f"Petani {unique} panen raya",
        section=f"Desa {unique}",
        related=[{"external_id": f"upd-a-{unique}"}],
    )
    path_a, path_b = path_of(a), path_of(b)
    section_path = "/" + path_a.split("/")[1]
    tag_path = f"/topik/cabai {unique}"
    # A list that cannot show A (another section's, listing only C). C's own page may show A among its
    # computed related stories, and A's update refreshes those: it is no witness.
    other = publish_article(f"upd-c-{unique}", title=f"Kabar lain {unique}", section=f"Lain {unique}")
    other_path = "/" + path_of(other).split("/")[1]
    # B shows A in its "Baca juga" once its list is computed and searchable.
    wait_until(lambda: f"Harga cabai {unique}" in edge.get(f"/api/v1/articles/{b['uid']}/related").text, timeout=20)
    wait_until(lambda: f"Harga cabai {unique}" in edge.get(section_path).text, timeout=10)
    wait_until(lambda: f"Harga cabai {unique}" in edge.get("/").text, timeout=10)
    # Past the late purges of these very creations (each story's list stored, then searchable).
    _quiet(stack, a["uid"], b["uid"], other["uid"])
    _warm(edge, path_a, path_b, section_path, tag_path, "/", other_path)
    assert f"Harga cabai {unique}" in edge.get(path_b).text
    # Every copy is now over two seconds old (Age is whole seconds, truncated): a purged page shows as a new
    # copy (age 0), one left alone as at least 2 however fast the checks below pass.
    time.sleep(2.5)

    publish_article(f"upd-a-{unique}", version=2, title=f"Harga cabai {unique} turun", section=section)
    # The article's own page is right at once (it reads the index in real time); the lists within the
    # freshness target (they are searches, purged again once the index refreshed).
    # (The new title makes a new slug: the old URL now redirects to the new one, itself a fresh page.)
    moved = edge.get(path_a, follow_redirects=True)
    assert f"Harga cabai {unique} turun" in moved.text and moved.history[0].status_code == 301
    for page in ("/", section_path):
        wait_until(lambda p=page: f"Harga cabai {unique} turun" in edge.get(p).text, timeout=FRESHNESS_S, what=page)
    # The tag page and B (whose "Baca juga" shows A) were purged: fetched anew, not the copy from before.
    for page in (tag_path, path_b):
        wait_until(lambda p=page: _age(edge.get(p)) == 0, timeout=FRESHNESS_S, what=f"{page} purged")
    # A page that does not show A was left alone.
    untouched = edge.get(other_path)
    assert _cache(untouched) == "HIT" and _age(untouched) >= 2


def _age(response: httpx.Response) -> int:
    return int(response.headers.get("age", "0"))


def _poll_until_gone(client: httpx.Client, path: str, *, timeout: float) -> float:
    """Seconds until the edge answers 410 for `path`."""
    start = time.monotonic()
    wait_until(lambda: client.get(path).status_code == 410, timeout=timeout, interval=0.02, what=f"{path} 410")
    return time.monotonic() - start


def test_a_withdrawal_purges_every_page_showing_the_story(
    stack: EdgeStack, edge: httpx.Client, newsroom: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    title = f"Skandal {unique} terungkap"
    a = publish_article(f"wd-a-{unique}", title=title, section=f"Hukum {unique}", authors=[f"Dewi {unique}"])
    b = publish_article(f"wd-b-{unique}", title=f"Sidang {unique} ditunda", related=[{"external_id": f"wd-a-{unique}"}])
    path_a, path_b = path_of(a), path_of(b)
    section_path, author_path = "/" + path_a.split("/")[1], f"/penulis/Dewi {unique}"
    wait_until(lambda: title in edge.get(f"/api/v1/articles/{b['uid']}/related").text, timeout=20)
    wait_until(lambda: title in edge.get("/").text, timeout=10)
    time.sleep(2.5)
    _warm(edge, path_a, path_b, "/", section_path, f"/api/v1/articles/{a['uid']}")
    assert title in edge.get(path_b).text and title in edge.get("/").text

    sent = time.monotonic()
    assert newsroom.post(f"/v1/articles/wd-a-{unique}/unpublish").status_code == 202
    wait_until(lambda: edge.get(path_a).status_code == 410, timeout=FRESHNESS_S, interval=0.02, what="410 at edge")
    latency = time.monotonic() - sent
    print(f"withdraw -> 410 at the edge: {latency * 1000:.0f} ms")
    wait_status(newsroom, f"wd-a-{unique}", "withdrawn")
    for page in ("/", path_b, section_path, author_path):
        wait_until(lambda p=page: title not in edge.get(p).text, timeout=FRESHNESS_S, what=f"{page} without the story")
    assert edge.get(f"/api/v1/articles/{a['uid']}").status_code == 410
    assert edge.get(f"{path_a}?utm_source=share").status_code == 410


def test_a_republish_clears_the_tombstones(
    stack: EdgeStack, edge: httpx.Client, newsroom: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    a = publish_article(f"rp-{unique}", title=f"Jembatan {unique} ditutup")
    path = path_of(a)
    assert newsroom.post(f"/v1/articles/rp-{unique}/unpublish").status_code == 202
    _poll_until_gone(edge, path, timeout=FRESHNESS_S + 5)
    wait_status(newsroom, f"rp-{unique}", "withdrawn")
    time.sleep(2.5)  # the delayed purge re-installed the tombstones
    # The same title (so the same URL), a new body.
    publish_article(
        f"rp-{unique}", version=2, title=f"Jembatan {unique} ditutup", body_paragraphs=[f"Kini dibuka {unique}."]
    )
    response = wait_until(lambda: (r := edge.get(path)).status_code == 200 and r, timeout=FRESHNESS_S, what="back")
    assert f"Kini dibuka {unique}" in response.text
    assert edge.get(f"/api/v1/articles/{a['uid']}").status_code == 200


def test_publish_down_keeps_pages_but_never_a_withdrawn_story(
    stack: EdgeStack, newsroom: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    short = stack.short
    victim = publish_article(f"down-a-{unique}", title=f"Kebakaran {unique} di pasar")
    publish_article(f"down-b-{unique}", title=f"Festival {unique} meriah", tags=[f"festival {unique}"])
    never = publish_article(f"down-c-{unique}", title=f"Tak pernah dibaca {unique}")
    path_v = path_of(victim)
    # The page kept through the outage: a list only B's own change would purge (an article page is also
    # purged whenever the workers refresh its related list, which new stories keep doing for a while).
    kept = f"/topik/festival {unique}"
    time.sleep(2.5)
    with httpx.Client(base_url=short.url, timeout=30) as reader:
        wait_until(lambda: f"Festival {unique}" in reader.get(kept).text, timeout=10, what="tag page")
        _warm(reader, path_v, f"{path_v}?lang=en", kept, f"/api/v1/articles/{victim['uid']}")
        try:
            short.publish.stop()
            time.sleep(2.5)  # past the 1 s lifetime: every copy is stale, and the probe calls publish sick
            stale = reader.get(kept)
            assert stale.status_code == 200 and f"Festival {unique}" in stale.text
            assert _cache(stale) == "HIT" and _age(stale) >= 2
            # Nothing to serve for a page never read: publish is really gone.
            assert reader.get(path_of(never)).status_code == 503

            variants = (path_v, f"{path_v}?lang=en", f"{path_v}?lang=id&x=1", f"/api/v1/articles/{victim['uid']}")
            sent = time.monotonic()
            assert newsroom.post(f"/v1/articles/down-a-{unique}/unpublish").status_code == 202
            wait_until(lambda: reader.get(path_v).status_code == 410, timeout=FRESHNESS_S, interval=0.02, what="410")
            print(f"withdraw -> 410 at the edge, publish down: {(time.monotonic() - sent) * 1000:.0f} ms")
            # The purge task hard-purges the story's pages first, then stores a tombstone per URL, one request
            # each: a variant read in between has neither (a 503 while publish is down; never the withdrawn page).
            wait_until(
                lambda: all(reader.get(url).status_code == 410 for url in variants),
                timeout=FRESHNESS_S,
                what="every variant 410",
            )
            # Again after the delayed purge and the tombstones' own lifetime: never back.
            for _ in range(2):
                for url in variants:
                    gone = reader.get(url)
                    assert gone.status_code == 410, (url, gone.status_code)
                assert reader.get(kept).status_code == 200
                time.sleep(3)
        finally:
            short.restart_publish()


@pytest.mark.parametrize(
    "url",
    ["/cari?q=banjir", "/api/v1/search?q=banjir", "/api/v1/suggest?q=ban"],
)
def test_search_is_never_cached(stack: EdgeStack, edge: httpx.Client, url: str) -> None:
    with httpx.Client(base_url=stack.main.publish_url) as direct:
        assert direct.get(url).headers["surrogate-control"] == "no-store"
    for _ in range(3):
        response = edge.get(url)
        assert response.status_code == 200
        assert _cache(response) == "PASS" and response.headers.get("age", "0") == "0"


def test_the_newsroom_api_is_never_cached(
    stack: EdgeStack, edge: httpx.Client, newsroom: httpx.Client, publish_article: Publisher, unique: str
) -> None:
    auth = {"Authorization": newsroom.headers["Authorization"]}
    created = edge.post(
        "/v1/articles",
        headers=auth,
        json={"external_id": f"nr-{unique}", "title": f"Lewat edge {unique}", "body": "<p>Isi.</p>", "version": 1},
    )
    assert created.status_code == 202 and _cache(created) == "PASS"
    seen = [edge.get(f"/v1/articles/nr-{unique}", headers=auth) for _ in range(2)]
    assert all(_cache(r) == "PASS" for r in seen)
    wait_status(newsroom, f"nr-{unique}", "published")
    # The state through the edge follows the pipeline at once, never an earlier answer.
    assert edge.get(f"/v1/articles/nr-{unique}", headers=auth).json()["status"] == "published"
    assert newsroom.post(f"/v1/articles/nr-{unique}/unpublish").status_code == 202
    wait_status(newsroom, f"nr-{unique}", "withdrawn")
    assert edge.get(f"/v1/articles/nr-{unique}", headers=auth).json()["status"] == "withdrawn"
    unauthenticated = [edge.get(f"/v1/articles/nr-{unique}") for _ in range(2)]
    assert all(r.status_code == 401 and _cache(r) == "PASS" for r in unauthenticated)


@pytest.mark.parametrize("url", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"])
def test_private_and_operator_endpoints_are_never_cached(stack: EdgeStack, edge: httpx.Client, url: str) -> None:
    for _ in range(3):
        assert _cache(edge.get(url)) == "PASS"
    with httpx.Client(base_url=stack.main.publish_url) as direct:
        health = direct.get("/healthz")
        assert health.headers["cache-control"] == "no-store" and health.headers["surrogate-control"] == "no-store"


def test_only_loopback_may_purge(stack: EdgeStack) -> None:
    # 127.0.0.2 is this machine too, but not an address the purgers' ACL names.
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=stack.main.url, transport=elsewhere) as stranger:
        assert stranger.request("PURGE", "/", headers={"xkey-purge": HOME}).status_code == 403
        refused = stranger.request(
            "PURGE", "/x/2024/01/01/y-0123456789abcdef", headers={"x-kabar-tombstone": "0123456789abcdef"}
        )
        assert refused.status_code == 403
    with httpx.Client(base_url=stack.main.url) as worker:
        assert worker.request("PURGE", "/", headers={"xkey-purge": "nothing-here"}).status_code == 200
