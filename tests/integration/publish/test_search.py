"""Search page and API: filters with facet counts, sort, pagination, typos, did-you-mean, hostile input."""

from __future__ import annotations

import httpx
import pytest
from lxml import html as lxml_html

from tests.integration.publish.conftest import Corpus


def _search(publish: httpx.Client, **params: object) -> dict:
    resp = publish.get("/api/v1/search", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_search_finds_stemmed_forms_with_highlights(publish: httpx.Client, corpus: Corpus) -> None:
    # Title says "menetapkan kebijakan"; the reader types the roots.
    body = _search(publish, q="tetap bijak pusat data")
    assert body["results"][0]["uid"] == corpus.uids["featured"]
    assert "<mark>" in (body["results"][0]["title_html"] or "")
    assert body["results"][0]["snippet_html"]


def test_facets_count_other_filters(publish: httpx.Client, corpus: Corpus) -> None:
    everything = _search(publish, q="pemerintah")
    sections = {f["value"]: f["count"] for f in everything["facets"]["section"]}
    assert len(sections) >= 3
    chosen, count = next(iter(sections.items()))
    filtered = _search(publish, q="pemerintah", section=chosen)
    assert filtered["total"] == count
    assert all(r["section"] == chosen for r in filtered["results"])
    # post_filter: the section facet still shows the other sections' counts after choosing one.
    assert {f["value"]: f["count"] for f in filtered["facets"]["section"]} == sections
    assert next(f for f in filtered["facets"]["section"] if f["selected"])["value"] == chosen
    # Source facet narrows with the section filter applied.
    assert sum(f["count"] for f in filtered["facets"]["source"]) <= count


def test_author_tag_source_and_date_filters(publish: httpx.Client, corpus: Corpus) -> None:
    assert [r["uid"] for r in _search(publish, author="Rina Wulandari")["results"]] == [corpus.uids["featured"]]
    assert corpus.uids["featured"] in [r["uid"] for r in _search(publish, q="data", tag="pusat data")["results"]]
    assert {r["uid"] for r in _search(publish, source="kabar.test", size=50)["results"]} >= {corpus.uids["featured"]}
    old = _search(publish, q="pemerintah", date_from="2000-01-01", date_to="2001-01-01")
    assert old["total"] == 0
    recent = _search(publish, q="pusat data", date_from="2020-01-01")
    assert recent["total"] >= 1
    assert any(f["value"] == "24h" and f["count"] >= 1 for f in _search(publish, q="data")["facets"]["date"])


def test_sort_newest_and_pagination(publish: httpx.Client, corpus: Corpus) -> None:
    newest = _search(publish, q="pemerintah", sort="newest", size=10)
    dates = [r["published_at"] for r in newest["results"]]
    assert dates == sorted(dates, reverse=True)
    page2 = _search(publish, q="pemerintah", sort="newest", size=10, page=2)
    assert not {r["uid"] for r in newest["results"]} & {r["uid"] for r in page2["results"]}
    assert newest["pages"] > 1


def test_typo_tolerance_and_did_you_mean(publish: httpx.Client, corpus: Corpus) -> None:
    body = _search(publish, q="kebijkan pusat dta")
    assert corpus.uids["featured"] in [r["uid"] for r in body["results"][:5]]
    assert _search(publish, q="pemerinth")["did_you_mean"] == "pemerintah"


@pytest.mark.parametrize("q", ['"AND OR (', "((( ]] {{ \\ / ~ * ? :", "a" * 10_000, "kata " * 2_000, "title:x AND NOT"])
def test_hostile_queries_are_normal_searches(publish: httpx.Client, corpus: Corpus, q: str) -> None:
    assert publish.get("/cari", params={"q": q}).status_code == 200
    assert publish.get("/api/v1/search", params={"q": q}).status_code == 200


def test_bad_parameters_are_4xx_not_500(publish: httpx.Client, corpus: Corpus) -> None:
    assert publish.get("/cari", params={"q": "data", "page": "abc"}).status_code == 400
    # An empty date field (what a form sends) is no bound; a malformed one is the client's mistake.
    assert publish.get("/cari", params={"q": "data", "date_from": "", "date_to": ""}).status_code == 200
    assert publish.get("/cari", params={"q": "data", "date_from": "not-a-date"}).status_code == 400
    api = publish.get("/api/v1/search", params={"page": 0})
    assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json"
    assert publish.get("/cari", params={"q": "data", "page": 500}).status_code == 200


def test_search_page_renders_filters_and_results(publish: httpx.Client, corpus: Corpus) -> None:
    resp = publish.get("/cari", params={"q": "pemerintah", "sort": "newest"})
    assert resp.status_code == 200
    doc = lxml_html.fromstring(resp.text)
    assert doc.xpath("//input[@id='q']/@value") == ["pemerintah"]
    assert doc.xpath("//label[@for='f-section']") and len(doc.xpath("//select[@id='f-section']/option")) > 2
    assert doc.xpath("//select[@id='f-sort']/option[@selected]/@value") == ["newest"]
    assert len(doc.xpath("//ol[@class='results-list']/li")) == 20
    assert doc.xpath("//a[@rel='next']/@href")[0].startswith("/cari?")
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex, follow"]
    # Highlights come back HTML-escaped from Elasticsearch, so only <mark> is markup.
    assert doc.xpath("//ol[@class='results-list']//mark")


def test_empty_search_page_and_did_you_mean_link(publish: httpx.Client, corpus: Corpus) -> None:
    assert publish.get("/cari").status_code == 200
    resp = publish.get("/cari", params={"q": "pemerinth"})
    assert "Mungkin maksud Anda" in resp.text and "q=pemerintah" in resp.text


def test_suggest_titles(publish: httpx.Client, corpus: Corpus) -> None:
    body = publish.get("/api/v1/suggest", params={"q": "pemerintah mene"}).json()
    assert any(s["uid"] == corpus.uids["featured"] for s in body["suggestions"])
    assert all(s["path"].startswith("/") for s in body["suggestions"])
    # Withdrawn articles lose their suggestion.
    gone = publish.get("/api/v1/suggest", params={"q": "berita yang kemudian"}).json()
    assert gone["suggestions"] == []
    assert publish.get("/api/v1/suggest", params={"q": "x"}).json()["suggestions"] == []


def test_article_and_related_api(publish: httpx.Client, corpus: Corpus) -> None:
    uid = corpus.uids["featured"]
    article = publish.get(f"/api/v1/articles/{uid}").json()
    assert article["uid"] == uid and article["url"].endswith(article["path"]) and "<p>" in article["body_html"]
    assert "title_suggest" not in article and "body_text" not in article
    related = publish.get(f"/api/v1/articles/{uid}/related").json()
    assert related["uid"] == uid and len(related["items"]) >= 1
    assert all(i["kind"] in {"editor", "computed"} for i in related["items"])
    assert publish.get(f"/api/v1/articles/{corpus.uids['withdrawn']}/related").status_code == 410


def test_openapi_documents_the_reader_api(operator: httpx.Client, corpus: Corpus) -> None:
    spec = operator.get("/openapi.json").json()
    for path in ("/api/v1/search", "/api/v1/suggest", "/api/v1/articles/{uid}", "/api/v1/articles/{uid}/related"):
        assert path in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "section", "author", "tag", "source", "date_from", "date_to", "sort", "page"} <= params
    assert "/cari" not in spec["paths"]
