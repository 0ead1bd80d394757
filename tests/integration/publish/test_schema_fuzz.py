"""No request a client can make to publish answers 5xx (Elasticsearch is up, so not even 503).

Schemathesis drives the reader API from its own OpenAPI schema (served on the operator port); a
Hypothesis fuzz of every query parameter, and of the path parameters, covers the HTML pages, feeds and
sitemaps too, which are not in the schema. Bounded, as the ingest one is: a smoke check in CI, not a soak.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from shared.errors import PROBLEM_JSON
from tests.fuzzing import live_operations
from tests.integration.publish.conftest import Corpus
from tests.stack import operator_url

# No shrinking: each example is a real request, and a failing one is reported as found.
PHASES = [Phase.explicit, Phase.generate]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=PHASES)
# uvicorn's own answer to a request it cannot parse (a header no client would send): it never reaches
# the app, so it is plain text; still a 4xx.
UNPARSEABLE = "Invalid HTTP request received."


@pytest.fixture(scope="module")
def operations(publish_url: str, corpus: Corpus) -> list[schemathesis.APIOperation]:
    return live_operations(f"{operator_url(publish_url)}/openapi.json", "publish")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_errors(
    operations: list[schemathesis.APIOperation], publish_url: str, mode: GenerationMode
) -> None:
    assert len(operations) >= 4
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=PHASES)
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=publish_url, timeout=30)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
            if response.status_code >= 400 and response.text != UNPARSEABLE:
                content_type = response.headers.get("content-type", [""])
                assert content_type[0].startswith(PROBLEM_JSON), response.text[:300]

        try:
            check()
        except Unsatisfiable:
            # Some operations have nothing to negate (a bare path id); positive mode covers them.
            assert mode is GenerationMode.NEGATIVE


# Anything a URL can carry (httpx percent-encodes it): controls, U+FFFF, astral characters...
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_NUMBERS = st.integers(-(10**25), 10**25).map(str)
_DATES = st.dates().map(lambda d: d.isoformat()) | st.sampled_from(
    ["9999-12-31", "0001-01-01", "2024-13-01", "2024-02-30", "2024-1-1", " 2024-01-01 ", "20240101", ""]
)
VALUES = _TEXT | _NUMBERS | _DATES | st.sampled_from(["relevance", "newest", "id", "en", "1", "50", "500"])
QUERY_PARAMS = ["q", "section", "author", "tag", "source", "date_from", "date_to", "sort", "page", "size", "lang"]
QUERY_ROUTES = [
    "/",
    "/cari",
    "/api/v1/search",
    "/api/v1/suggest",
    "/teknologi",
    "/topik/pusat%20data",
    "/penulis/Rina%20Wulandari",
    "/rss.xml",
    "/teknologi/atom.xml",
    "/sitemap.xml",
    "/sitemaps/news.xml",
    "/robots.txt",
]


@pytest.mark.parametrize("route", QUERY_ROUTES)
def test_every_query_parameter_fuzzed(publish: httpx.Client, corpus: Corpus, route: str) -> None:
    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(QUERY_PARAMS), VALUES, max_size=5))
    def check(params: dict[str, str]) -> None:
        resp = publish.get(route, params=params)
        assert resp.status_code < 500, (route, params, resp.status_code, resp.text[:300])
        if route.startswith("/api/") and resp.status_code >= 400:
            assert resp.headers["content-type"] == PROBLEM_JSON

    check()


# The values at the edges of what each parameter accepts, every one on every parameter: random
# generation may take many runs to land on the one date Python cannot add a day to.
EDGES = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "500",
    "501",
    "10000",
    "99999999999999999999999",
    "1e3",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "2024-13-01",
    "2024-02-30",
    "2024-12-31T23:59:59+07:00",
    "newest",
    "relevance",
    "en",
    "\x00",
    "\uffff",
    "\U0001f600",
    "a" * 201,
    "a" * 20_001,
    "*",
    "\\",
    '"',
    "<b>",
]


@pytest.mark.parametrize("route", ["/api/v1/search", "/cari", "/api/v1/suggest", "/teknologi", "/"])
def test_every_query_parameter_at_its_edges(publish: httpx.Client, corpus: Corpus, route: str) -> None:
    for name in QUERY_PARAMS:
        for value in EDGES:
            resp = publish.get(route, params={name: value})
            assert resp.status_code < 500, (route, name, value[:30], resp.status_code, resp.text[:300])


_SEGMENT = (_TEXT | _NUMBERS | _DATES).filter(lambda s: s not in ("", ".", ".."))
PATH_TEMPLATES = [
    "/api/v1/articles/{}",
    "/api/v1/articles/{}/related",
    "/topik/{}",
    "/penulis/{}",
    "/{}",
    "/{}/rss.xml",
    "/{}/atom.xml",
    "/sitemaps/{}.xml",
    "/{}/2026/01/01/{}",
    "/teknologi/{}/{}/{}/x-{}",
]


@pytest.mark.parametrize("template", PATH_TEMPLATES)
def test_every_path_parameter_fuzzed(publish: httpx.Client, corpus: Corpus, template: str) -> None:
    @FUZZ
    @given(parts=st.lists(_SEGMENT, min_size=4, max_size=4))
    def check(parts: list[str]) -> None:
        path = template.format(*(quote(p, safe="") for p in parts))
        resp = publish.get(path, follow_redirects=False)
        assert resp.status_code < 500, (path, resp.status_code, resp.text[:300])

    check()
