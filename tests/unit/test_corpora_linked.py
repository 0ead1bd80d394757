"""The corpora with editors' "Baca juga" links (ppw, indonews, kompas-scraper), read by path from shared/data.

Counts and date ranges are the ones ../shared/data/README.md (sections 7–9) and each SOURCE.md give.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared import corpora
from shared.corpora import linked_corpus_names, parse_indonesian_date, raw_dir
from shared.models import ArticleIn
from shared.text import body_to_safe_html, clean_body

RAW = raw_dir()
if not all((RAW / folder).is_dir() for folder in ("ppw", "indonews-scrapper", "KompasScraper")):
    pytest.skip(f"the linked corpora are not under {RAW}", allow_module_level=True)

# (reader, unique articles the README counts, tolerance)
EXPECTED = {"ppw": (1051, 0.02), "indonews": (2252, 0.02), "kompas-scraper": (415, 0.0)}
ORIGINAL_ALL = ("news-intelligence", "summarization", "scrapper", "indosum")
ID_PREFIX = {"ppw": "ppw-", "indonews": "ino-", "kompas-scraper": "kps-"}


@pytest.fixture(scope="module")
def articles() -> dict[str, list[dict[str, Any]]]:
    return {name: list(corpora.load(name, RAW)) for name in EXPECTED}


def _day(article: dict[str, Any]) -> date:
    return datetime.fromisoformat(article["published_at"]).date()


def _share_in(dated: list[dict[str, Any]], first: date, last: date) -> float:
    return sum(first <= _day(a) <= last for a in dated) / len(dated)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_reader_yields_the_readmes_unique_articles(articles: dict[str, list[dict[str, Any]]], name: str) -> None:
    expected, tolerance = EXPECTED[name]
    got = articles[name]
    assert abs(len(got) - expected) <= expected * tolerance, (name, len(got))
    ids = [a["external_id"] for a in got]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(ID_PREFIX[name]) for i in ids)
    urls = [a["canonical_url"] for a in got if a.get("canonical_url")]
    assert len(set(urls)) == len(urls)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_reader_yields_valid_native_articles(articles: dict[str, list[dict[str, Any]]], name: str) -> None:
    invalid = []
    for article in articles[name]:
        try:
            ArticleIn.model_validate(article)
        except ValidationError as exc:
            invalid.append((article["external_id"], str(exc)[:200]))
    assert len(invalid) <= 0.02 * len(articles[name]), invalid[:5]
    for article in articles[name]:
        assert len(article["title"]) <= 300
        assert article["source"] and "/" not in article["source"]
        assert article["published_at"] is None or article["published_at"].endswith("+07:00")


def test_ppw_articles(articles: dict[str, list[dict[str, Any]]]) -> None:
    ppw = articles["ppw"]
    assert Counter(a["section"] for a in ppw).keys() == {"Politik", "Ekonomi", "Olahraga"}
    assert {a["source"] for a in ppw} == {"antaranews.com"}
    assert all("canonical_url" not in a for a in ppw)
    # "Baca juga" lines stay in the bodies, on their own paragraph (Antara puts each on its own line).
    baca = [p for a in ppw for p in a["body_paragraphs"] if p.startswith("Baca juga:")]
    assert len(baca) >= 2000
    # The date is the day written in the body, "(13/11)": midnight exactly, the day only.
    dated = [a for a in ppw if a["published_at"]]
    assert len(dated) >= 300
    assert all(a["published_at"].endswith("T00:00:00+07:00") for a in dated)
    assert _share_in(dated, date(2023, 11, 13), date(2023, 12, 6)) >= 0.9


# README section 8: detik 23 May – 10 Jun (it also has 20–22 May and four from 2015–16), tribun 7–10 Jun,
# sindonews 7–11 Jun (plus one each from 2023 and 2024), kompas 10 Jun.
INDONEWS_RANGES = {
    "detik.com": (date(2025, 5, 20), date(2025, 6, 10), 709),
    "tribunnews.com": (date(2025, 6, 7), date(2025, 6, 10), 1085),
    "sindonews.com": (date(2025, 6, 7), date(2025, 6, 11), 408),
    "kompas.com": (date(2025, 6, 10), date(2025, 6, 10), 50),
}


def test_indonews_articles_per_outlet(articles: dict[str, list[dict[str, Any]]]) -> None:
    by_outlet: dict[str, list[dict[str, Any]]] = {}
    for article in articles["indonews"]:
        by_outlet.setdefault(article["source"], []).append(article)
    assert by_outlet.keys() == INDONEWS_RANGES.keys()
    for outlet, (first, last, count) in INDONEWS_RANGES.items():
        group = by_outlet[outlet]
        assert abs(len(group) - count) <= count * 0.02, (outlet, len(group))
        dated = [a for a in group if a["published_at"]]
        assert len(dated) >= 0.98 * len(group), outlet
        assert _share_in(dated, first, last) >= 0.9, outlet
        # Every outlet gives a time of day, so none is dated to the day only.
        assert all(not a["published_at"].endswith("T00:00:00+07:00") for a in dated), outlet
        assert all(a["canonical_url"].startswith("https://") for a in group)
        assert all("utm_" not in a["canonical_url"] for a in group)
    baca = sum(
        "baca juga" in p.lower() for a in articles["indonews"] for p in a["body_paragraphs"]
    )  # sindonews glues it to the previous sentence
    assert baca >= 1500


def test_indonesian_dates_with_zones_and_separators() -> None:
    def iso(text: str) -> str | None:
        parsed = parse_indonesian_date(text)
        return parsed.isoformat() if parsed else None

    assert iso("Tayang: Senin, 9 Juni 2025 19:53 WIB") == "2025-06-09T19:53:00+07:00"
    assert iso("Tayang: Senin, 9 Juni 2025 19:53 WITA") == "2025-06-09T18:53:00+07:00"
    assert iso("Tayang: Minggu, 8 Juni 2025 00:30 WIT") == "2025-06-07T22:30:00+07:00"
    assert iso("Selasa, 10 Juni 2025 - 13:44 WIB") == "2025-06-10T13:44:00+07:00"
    assert iso("Kompas.com - 26/04/2023, 18:15 WIB") == "2023-04-26T18:15:00+07:00"
    assert iso("Jumat, 29 Mei 2026 22:02 WIB") == "2026-05-29T22:02:00+07:00"
    assert iso("10 Jun 2025") == "2025-06-10T00:00:00+07:00"
    assert iso("31 Juni 2025") is None
    assert iso("") is None


def test_kompas_scraper_articles(articles: dict[str, list[dict[str, Any]]]) -> None:
    kompas = articles["kompas-scraper"]
    assert {a["section"] for a in kompas} == {"Global"}
    assert {a["source"] for a in kompas} == {"kompas.com"}
    assert all("body_paragraphs" not in a and a["body"].startswith("<p") for a in kompas)
    # Aligned to the URL file: the publish time is the one in the URL path (/read/2023/04/26/181500370/).
    for article in kompas:
        stamp = datetime.fromisoformat(article["published_at"]).strftime("/read/%Y/%m/%d/%H%M")
        assert stamp in article["canonical_url"], article["canonical_url"]
    assert _share_in(kompas, date(2023, 4, 7), date(2023, 4, 26)) == 1.0
    # Ad slots are gone; the story's paragraphs and anchors are not.
    assert not any("<div" in a["body"] or "<script" in a["body"] for a in kompas)
    assert sum(a["body"].count("<p") for a in kompas) >= 5000


def test_kompas_scraper_baca_juga_hrefs_survive_kabars_cleaner(articles: dict[str, list[dict[str, Any]]]) -> None:
    links = []
    for article in articles["kompas-scraper"]:
        body = clean_body(body_to_safe_html(body=article["body"], paragraphs=None), title=article["title"])
        links.extend(body.links)
    with_href = [link for link in links if link.href]
    assert len(with_href) >= 800
    assert sum("kompas.com/" in link.href for link in with_href if link.href) >= 800


def test_linked_spec_yields_the_four_linked_corpora() -> None:
    assert linked_corpus_names() == ["ppw", "indonews", "kompas-scraper", "scrapper"]
    prefixes = Counter(a["external_id"].split("-", 1)[0] for a in corpora.load("linked", RAW))
    assert set(prefixes) == {"ppw", "ino", "kps", "scr"}


def test_all_still_yields_only_the_four_original_corpora() -> None:
    assert corpora.ALL_CORPORA == ORIGINAL_ALL
    expected = list(itertools.chain.from_iterable(corpora.CORPORA[name](RAW) for name in ORIGINAL_ALL))
    got = list(corpora.load("all", RAW))
    assert [a["external_id"] for a in got] == [a["external_id"] for a in expected]
    assert not any(a["external_id"].startswith(("ppw-", "ino-", "kps-")) for a in got)
