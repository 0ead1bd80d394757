"""The XSS corpus through the whole path: ingest → worker → Elasticsearch → the reader API and page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.stack import Proc, wait_until
from tests.unit.test_ingest_sanitise import XSS_CORPUS, _assert_safe


def test_xss_corpus_never_reaches_readers(
    ingest: httpx.Client, publish: httpx.Client, worker: Proc, new_article: Callable[..., dict[str, Any]]
) -> None:
    article = new_article(body="<p>Awal berita.</p>" + "".join(XSS_CORPUS) + "<p>Akhir berita.</p>")
    accepted = ingest.post("/v1/articles", json=article)
    assert accepted.status_code == 202
    uid = accepted.json()["uid"]

    def indexed() -> bool:
        return bool(ingest.get(f"/v1/articles/{article['external_id']}").json()["status"] == "published")

    wait_until(indexed, timeout=20, what="xss article indexed")
    stored = publish.get(f"/api/v1/articles/{uid}")
    assert stored.status_code == 200, stored.text
    _assert_safe(stored.json()["body_html"])
    page = publish.get(httpx.URL(ingest.get(f"/v1/articles/{article['external_id']}").json()["url"]).path)
    assert page.status_code == 200
    assert "Awal berita." in page.text
    for marker in ("alert(", "onerror=", "onload=", "javascript:alert", "evil.example"):
        assert marker not in page.text
