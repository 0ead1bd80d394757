"""Elasticsearch unreachable: readers get a friendly 503 page, API clients a 503 problem — never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.stack import free_port, start_api


@pytest.fixture
def publish_without_es(stack_env: dict[str, str]) -> Iterator[httpx.Client]:
    # The real app pointed at a closed port: the failure is real, nothing is mocked.
    env = {**stack_env, "KABAR_ES_URL": f"http://127.0.0.1:{free_port()}", "KABAR_ES_REQUEST_TIMEOUT": "1"}
    proc, url = start_api("publish-no-es", "services.publish.app:create_app", env)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
    finally:
        proc.stop()


def test_search_page_and_api_answer_503(publish_without_es: httpx.Client) -> None:
    page = publish_without_es.get("/cari", params={"q": "banjir"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "Layanan sedang sibuk" in page.text and page.headers["retry-after"]
    api = publish_without_es.get("/api/v1/search", params={"q": "banjir"})
    assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"].endswith("/unavailable")
    assert publish_without_es.get("/").status_code == 503
