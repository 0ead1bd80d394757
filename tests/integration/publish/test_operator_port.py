"""Operator endpoints are not on the reader site; the same process serves them on its operator port."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.publish.conftest import Corpus

OPERATOR_PATHS = ["/metrics", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"]


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_reader_site_does_not_serve_operator_endpoints(publish: httpx.Client, corpus: Corpus, path: str) -> None:
    resp = publish.get(path)
    assert resp.status_code == 404, (path, resp.status_code)
    assert "kabar_http_request_duration_seconds" not in resp.text and "swagger" not in resp.text.lower()
    assert '"openapi"' not in resp.text and "elasticsearch" not in resp.text


def test_operator_port_serves_them_for_this_process(publish: httpx.Client, operator: httpx.Client) -> None:
    publish.get("/api/v1/search", params={"q": "rusia"})
    metrics = operator.get("/metrics")
    assert metrics.status_code == 200
    assert 'route="/api/v1/search",service="publish"' in metrics.text  # the reader server's own requests
    ready = operator.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"elasticsearch": "ok"}
    spec = operator.get("/openapi.json").json()
    assert "/api/v1/search" in spec["paths"] and "/cari" not in spec["paths"]
    assert "/metrics" not in spec["paths"]
    assert "swagger-ui" in operator.get("/docs").text and "redoc" in operator.get("/redoc").text
    assert operator.get("/healthz").json()["status"] == "ok" and publish.get("/healthz").json()["status"] == "ok"
