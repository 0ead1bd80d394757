"""What a reader sees in headless Chromium: home, an article, a filtered search; injected script never runs."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from shared.es import IndexNames
from tests.browser.conftest import SHOTS
from tests.integration.publish.conftest import Corpus

pytestmark = [pytest.mark.browser]


def test_home_page(page: Any, publish_url: str, corpus: Corpus) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(publish_url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.get_by_role("heading", name="Terbaru").is_visible()
    assert page.locator("section[aria-labelledby='latest-h'] li").count() == 10
    assert page.get_by_role("search").is_visible()
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)


def test_article_page_and_xss(
    page: Any, publish_url: str, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    featured = corpus.doc(es, names, "featured")
    page.goto(publish_url + featured["path"])
    assert page.get_by_role("heading", level=1).inner_text() == featured["title"]
    assert "WIB" in page.locator("p.meta time").first.inner_text()
    assert page.locator("p.baca-juga a").is_visible()
    assert page.locator("section.related li").count() >= 1
    page.screenshot(path=str(SHOTS / "article.png"), full_page=True)

    xss = corpus.doc(es, names, "xss")
    page.goto(publish_url + xss["path"])
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    # Ingest strips tags from titles; what is left is shown as text.
    assert "alert('judul')" in page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("window.__xss === undefined")
    assert page.dialogs == []
    page.screenshot(path=str(SHOTS / "article-xss.png"), full_page=True)


def test_search_with_filters(page: Any, publish_url: str, corpus: Corpus) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(publish_url + "/")
    page.get_by_label("Cari").fill("pemerintah")
    page.get_by_role("button", name="Cari").click()
    page.wait_for_url("**/cari?**")
    assert page.locator("ol.results-list > li").count() == 20
    assert page.locator("ol.results-list mark").count() > 0
    first_section = page.locator("#f-section option").nth(1)
    value = first_section.get_attribute("value")
    page.select_option("#f-section", value)
    page.select_option("#f-sort", "newest")
    page.get_by_role("button", name="Terapkan").click()
    page.wait_for_load_state("load")
    assert page.locator("#f-section option[selected]").get_attribute("value") == value
    sections = page.locator("ol.results-list .meta").all_inner_texts()
    assert sections and all(s.startswith(value) for s in sections)
    page.screenshot(path=str(SHOTS / "search-filtered.png"), full_page=True)


def test_suggestions_as_you_type(page: Any, publish_url: str, corpus: Corpus) -> None:
    page.goto(publish_url + "/")
    page.get_by_label("Cari").press_sequentially("pemerintah mene", delay=20)
    page.locator("#q-suggest li").first.wait_for(timeout=5000)
    assert page.locator("#q-suggest li a").count() >= 1
