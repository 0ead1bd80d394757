"""Known-item search quality: a title with one word in another inflection finds the article in the top 3."""

from __future__ import annotations

import httpx
from elasticsearch import Elasticsearch

from shared.es import IndexNames
from tests.integration.publish.conftest import Corpus

SAMPLE = 150
MINIMUM_QUERIES = 100
# Measured 147/147 (1.000) on this corpus; the floor leaves a little room for corpus ordering changes.
FLOOR = 0.95


def _stems(es: Elasticsearch, names: IndexNames, text: str) -> list[str]:
    tokens = es.indices.analyze(index=names.articles, analyzer="id_text", text=text)["tokens"]
    return [t["token"] for t in tokens]


def other_inflection(es: Elasticsearch, names: IndexNames, word: str) -> str | None:
    """A different surface form that Elasticsearch's id_text analyzer stems exactly like `word`."""
    stems = _stems(es, names, word)
    if len(stems) != 1 or not word.isalpha() or len(word) < 5:
        return None
    stem = stems[0]
    lower = word.lower()
    for candidate in (stem, f"di{stem}", f"{stem}an", f"{stem}kan", f"ber{stem}", f"di{stem}kan", f"me{stem}"):
        if candidate != lower and _stems(es, names, candidate) == [stem]:
            return candidate
    return None


def make_query(es: Elasticsearch, names: IndexNames, title: str) -> str | None:
    """The title with its first affixable word swapped for another inflection (verified by _analyze)."""
    words = title.split()
    for i, word in enumerate(words):
        replacement = other_inflection(es, names, word.strip(",.:;!?\"'()"))
        if replacement:
            return " ".join([*words[:i], replacement, *words[i + 1 :]])
    return None


def test_known_items_found_in_top_three(
    publish: httpx.Client, corpus: Corpus, es: Elasticsearch, names: IndexNames
) -> None:
    asked = hits = 0
    misses = []
    for item in corpus.known_items[:SAMPLE]:
        query = make_query(es, names, item["title"])
        if query is None:
            continue
        asked += 1
        results = publish.get("/api/v1/search", params={"q": query, "size": 3}).json()["results"]
        if item["uid"] in [r["uid"] for r in results]:
            hits += 1
        else:
            misses.append((query, item["title"]))
    rate = hits / asked
    print(f"\nknown-item top-3 hit rate: {hits}/{asked} = {rate:.3f}; misses e.g. {misses[:3]}")
    assert asked >= MINIMUM_QUERIES
    assert rate >= FLOOR
