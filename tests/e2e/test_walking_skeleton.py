"""One article end to end: ingest API → RabbitMQ → Celery worker → Elasticsearch → publish page and search."""

from __future__ import annotations

from typing import Any

import httpx
from elasticsearch import Elasticsearch

from services.index.config import IndexSettings
from shared.es import IndexNames
from tests.conftest import wait_for_search
from tests.stack import Proc


def test_seed_article_is_published_and_found_by_another_inflection(
    ingest: httpx.Client, publish: httpx.Client, worker: Proc, seed_article: dict[str, Any]
) -> None:
    resp = ingest.post("/v1/articles", json=seed_article)
    assert resp.status_code == 202, resp.text
    uid = resp.json()["uid"]

    # The body says "mempertimbangkannya"; the reader searches "pertimbangan".
    hit = wait_for_search(publish, "pertimbangan", uid)
    assert hit["title"] == seed_article["title"]

    page = publish.get(hit["path"])
    assert page.status_code == 200
    assert seed_article["title"] in page.text
    assert "Senin, 27 Desember 2021" in page.text
    assert "mempertimbangkannya" in page.text
    # The editors' inline line is not rendered as body text, and the page boilerplate is gone.
    inline = next(p for p in seed_article["body_paragraphs"] if p.lower().startswith("baca juga"))
    assert "Baca juga" not in page.text and inline.split(":", 1)[1].strip() not in _body(page.text)
    assert "Tinggalkan Balasan" not in page.text

    state = ingest.get(f"/v1/articles/{seed_article['external_id']}").json()
    assert state["status"] == "published"


def test_articles_analyzer_stems_indonesian(es: Elasticsearch, names: IndexNames) -> None:
    tokens = es.indices.analyze(index=names.articles, analyzer="id_text", text="mempertimbangkan ketegangan")
    assert [t["token"] for t in tokens["tokens"]] == ["timbang", "tegang"]


def _body(html: str) -> str:
    """The article body of a page (the related list beside it may rightly name the linked story)."""
    start = html.find("<article")
    return html[start : html.find("</article>", start)] if start >= 0 else html


def test_cluster_health_and_product_header(settings: IndexSettings) -> None:
    """The Elasticsearch the tests were pointed at (KABAR_ES_URL), not an assumed local one."""
    auth = None
    if settings.es_username and settings.es_password:
        auth = (settings.es_username, settings.es_password.get_secret_value())
    resp = httpx.get(f"{settings.es_url.rstrip('/')}/_cluster/health", auth=auth)
    assert resp.json()["status"] in {"green", "yellow"}
    assert resp.headers["x-elastic-product"] == "Elasticsearch"
