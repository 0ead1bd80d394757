"""Elasticsearch unreachable: readers get a friendly 503 page, API clients a 503 problem — never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.publish.app import create_app
from services.publish.config import PublishSettings
from tests.stack import free_port


@pytest.fixture
def client_without_es() -> Iterator[TestClient]:
    # A real client pointed at a closed port: the failure is real, nothing is mocked.
    settings = PublishSettings(prefix="unreachable", es_url=f"http://127.0.0.1:{free_port()}", es_request_timeout=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_search_page_and_api_answer_503(client_without_es: TestClient) -> None:
    page = client_without_es.get("/cari", params={"q": "banjir"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "Layanan sedang sibuk" in page.text and page.headers["retry-after"]
    api = client_without_es.get("/api/v1/search", params={"q": "banjir"})
    assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["type"].endswith("/unavailable")
    assert client_without_es.get("/").status_code == 503
