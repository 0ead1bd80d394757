"""Client mistakes are 4xx (problem+json with a pointer on the API), never a 500 or an outage's 503."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.publish.conftest import Corpus

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"date_to": "2024-13-01"}, "/query/date_to"),
        ({"date_from": "2024-02-30"}, "/query/date_from"),
        ({"date_from": "kemarin"}, "/query/date_from"),
        ({"date_to": "2024-01-01T00:00"}, "/query/date_to"),
        ({"sort": "oldest"}, "/query/sort"),
        ({"page": "0"}, "/query/page"),
        ({"page": "501"}, "/query/page"),
        ({"page": "99999999999999999999999"}, "/query/page"),
        ({"size": "51"}, "/query/size"),
        ({"size": "-1"}, "/query/size"),
        ({"q": "a" * 20_001}, "/query/q"),
    ],
)
def test_api_search_names_the_bad_parameter(
    publish: httpx.Client, corpus: Corpus, params: dict[str, str], pointer: str
) -> None:
    resp = publish.get("/api/v1/search", params=params)
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM, resp.text[:300]
    assert [e["pointer"] for e in resp.json()["errors"]] == [pointer]
    page = publish.get("/cari", params=params)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("bound", ["9999-12-31", "0001-01-01"])
def test_extreme_but_valid_dates_are_searches(publish: httpx.Client, corpus: Corpus, bound: str) -> None:
    for params in ({"date_to": bound}, {"date_from": bound}, {"date_from": bound, "date_to": bound}):
        resp = publish.get("/api/v1/search", params={"q": "data", **params})
        assert resp.status_code == 200, resp.text[:300]
        assert publish.get("/cari", params={"q": "data", **params}).status_code == 200
    everything = publish.get("/api/v1/search", params={"date_to": "9999-12-31"}).json()["total"]
    assert everything == publish.get("/api/v1/search").json()["total"]


@pytest.mark.parametrize(
    "name",
    ["2024-13", "2024-00", "0000-01", "9999-12", "2024-05-0", "2024-05-00", "2024-05--1", "2024-5", "2024-05-99999"],
)
def test_malformed_sitemap_names_are_404_not_an_outage(publish: httpx.Client, corpus: Corpus, name: str) -> None:
    resp = publish.get(f"/sitemaps/{name}.xml")
    assert resp.status_code == 404, resp.text[:300]
    assert "retry-after" not in resp.headers


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/suggest?q=" + "x" * 201, 422),
        ("/api/v1/articles/not-a-uid", 404),
        ("/api/v1/articles/0123456789abcdef/related", 404),
        ("/teknologi?page=0", 400),
        ("/teknologi?page=abc", 400),
        ("/teknologi?page=501", 400),
        ("/teknologi?page=400", 404),
        ("/topik/" + "t" * 101, 400),
        ("/penulis/" + "p" * 301, 400),
        ("/topik/tidak-ada-sama-sekali", 404),
        ("/tidak_ada!", 404),
        ("/tidak-ada/rss.xml", 404),
    ],
)
def test_other_bad_parameters(publish: httpx.Client, corpus: Corpus, path: str, status: int) -> None:
    resp = publish.get(path)
    assert resp.status_code == status, resp.text[:300]
    if path.startswith("/api/"):
        assert resp.headers["content-type"] == PROBLEM
        if status == 422:
            assert resp.json()["errors"][0]["pointer"] == "/query/q"
