"""Reader comments in headless Chromium, end to end on the real stack.

A reader opens an article, writes a comment (the proof of work is solved by the page's own script in the
browser), sees it awaiting moderation; a moderator signs in to the moderation page at phone width and
approves it; the comment appears under the article. Then a hostile comment (script, event handlers, a
`javascript:` link, right-to-left overrides) is approved too, and neither runs nor misleads.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from harness.procs import wait_until
from services.ingest.comments import accounts
from shared.comments.tables import Comment
from tests.browser.conftest import SHOTS

pytestmark = [pytest.mark.browser]

PASSWORD = "kata-sandi-yang-panjang"
RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"


@pytest.fixture
def article(ingest: httpx.Client, seed_article: dict[str, Any], worker: object) -> dict[str, Any]:
    """A fresh published article of the `channel9` newsroom (the session key's), as publish shows it. Published
    now: threads close by default 30 days after publication, and the seed article is from 2021."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    body = {**seed_article, "external_id": f"komentar-{uuid.uuid4().hex[:10]}", "version": 1, "published_at": now}
    accepted = ingest.post("/v1/articles", json=body)
    assert accepted.status_code == 202, accepted.text
    state = wait_until(
        lambda: (s := ingest.get(f"/v1/articles/{body['external_id']}").json()).get("url") and s,
        timeout=30,
        what="the article published",
    )
    return state


@pytest.fixture
def moderator(db: Engine) -> str:
    username = f"mod{uuid.uuid4().hex[:6]}"
    with Session(db) as session:
        accounts.add(session=session, newsroom="channel9", username=username, password=PASSWORD)
    return username


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _write(page: Any, publish_url: str, article: dict[str, Any], *, name: str, email: str, text: str) -> None:
    page.goto(publish_url + _path(article["url"]))
    page.locator("section#komentar a.button").click()
    page.fill("#c-nama", name)
    page.fill("#c-email", email)
    page.fill("#c-komentar", text)
    # The page's script solves the proof of work and hides the question meant for readers without JavaScript.
    page.wait_for_selector("form#comment-form[data-solved='1']", timeout=60_000)
    assert page.locator("#c-question").is_hidden()
    page.get_by_role("button", name="Kirim").click()
    page.wait_for_load_state("load")


def _approve_on_the_moderation_page(browser: Any, ingest_url: str, username: str, comment: Comment) -> None:
    comment_id = comment.id
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID", is_mobile=True)
    page = context.new_page()
    try:
        page.goto(ingest_url + "/moderasi")
        page.fill("input[name=newsroom]", "channel9")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_load_state("load")
        page.goto(f"{ingest_url}/moderasi?antrian={comment.status}")  # pending, or withheld by a rule
        item = page.locator(f"article.comment[data-id='{comment_id}']")
        wait_until(item.is_visible, timeout=10, what="the comment in the pending queue")
        page.screenshot(path=str(SHOTS / "moderasi-phone.png"), full_page=True)
        item.locator("button[name=do][value='approve:" + str(comment_id) + "']").click()
        page.wait_for_load_state("load")
        assert "1 komentar diperbarui" in page.content()
    finally:
        context.close()


def _stored(db: Engine, article_uid: str, marker: str) -> Comment:
    def find() -> Comment | None:
        with Session(db) as session:
            query = select(Comment).where(Comment.article_uid == article_uid, Comment.body.contains(marker))
            return session.scalar(query)

    return wait_until(find, timeout=30, what="the comment stored by the moderation worker")


def _reload_until(page: Any, url: str, selector: str, timeout: float = 30) -> None:
    def shown() -> bool:
        page.goto(url)
        return page.locator(selector).count() > 0

    wait_until(shown, timeout=timeout, interval=0.5, what=f"{selector} on {url}")


def test_a_reader_comments_a_moderator_approves_and_it_appears(
    browser: Any, page: Any, publish_url: str, ingest_url: str, article: dict[str, Any], moderator: str, db: Engine
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    text = f"Semoga pertemuan Januari membawa hasil. ({uuid.uuid4().hex[:6]})"
    _write(page, publish_url, article, name="Pembaca Setia", email="pembaca@contoh.id", text=text)
    assert "menunggu moderasi" in page.content()
    comment = _stored(db, article["uid"], text)
    assert comment.status == "pending", comment.status_by
    page.reload()  # stored now: the status page shows the reader their own comment, still awaiting moderation
    assert "menunggu moderasi" in page.content()
    assert text in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "komentar-terkirim.png"), full_page=True)
    _approve_on_the_moderation_page(browser, ingest_url, moderator, comment)

    article_url = publish_url + _path(article["url"])
    _reload_until(page, article_url, f"li#komentar-{comment.id}")
    item = page.locator(f"li#komentar-{comment.id}")
    assert text in item.inner_text()
    assert "Pembaca Setia" in item.inner_text()
    assert "pembaca@contoh.id" not in page.content()
    assert "1 Komentar" in page.locator("#komentar-h").inner_text()
    page.screenshot(path=str(SHOTS / "komentar-terbit.png"), full_page=True)


def test_a_hostile_comment_never_runs_or_misleads(
    browser: Any, page: Any, publish_url: str, ingest_url: str, article: dict[str, Any], moderator: str, db: Engine
) -> None:
    marker = uuid.uuid4().hex[:6]
    text = (
        f'<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> {marker} '
        'klik <a href="javascript:window.__xss=3">di sini</a> javascript:window.__xss=4 '
        f"https://contoh.id/{marker} harga {RLO}000.01 Rp{PDI} saja"
    )
    name = f"Admin{RLO}nimdA{LRI}"
    _write(page, publish_url, article, name=name, email="iseng@contoh.id", text=text)
    comment = _stored(db, article["uid"], marker)
    assert comment.status in ("pending", "withheld"), comment.status_by
    _approve_on_the_moderation_page(browser, ingest_url, moderator, comment)

    _reload_until(page, publish_url + _path(article["url"]), f"li#komentar-{comment.id}")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss === undefined")
    assert page.dialogs == []
    item = page.locator(f"li#komentar-{comment.id}")
    # The markup is shown as text, and only the http(s) address became a link, marked as user content.
    assert "<script>window.__xss = 1</script>" in item.locator(".comment-text").inner_text()
    links = item.locator(".comment-text a")
    assert links.count() == 1
    assert links.first.get_attribute("href") == f"https://contoh.id/{marker}"
    assert set((links.first.get_attribute("rel") or "").split()) >= {"nofollow", "ugc"}
    assert item.locator("img, script, [onerror]").count() == 0
    # Direction controls are gone from the name and the text: nothing reads backwards.
    shown = item.inner_text()
    assert RLO not in shown and LRI not in shown and PDI not in shown
    assert "AdminnimdA" in shown
    page.screenshot(path=str(SHOTS / "komentar-hostile.png"), full_page=True)
