"""Editors' links as a regression guard on real text: one linked corpus (kompas.com, whose link HTML gives
exact targets), loaded as FLAT text through the real indexer and settled as the related worker settles it.

bench/related_eval.py measures quality on held-out splits; this only guards against losing it: the links
are still parsed and resolved, and the shipped model still ranks the editors' own choices ahead of the
plain TF-IDF fallback, on the engine's serving path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from redis import Redis

from harness import related as linked_data
from harness.cleanup import drop_prefix
from services.index.related import features, lists, ranker
from shared import corpora
from shared.es import IndexNames, ensure_indices

CORPUS = "kompas-scraper"


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch, redis: Redis) -> Iterator[tuple[IndexNames, linked_data.Linked]]:
    if not (corpora.raw_dir() / "KompasScraper").is_dir():
        pytest.skip("the linked corpora are not here (KABAR_SHARED_DATA)")
    names = IndexNames(f"rq{uuid.uuid4().hex[:8]}")
    try:
        ensure_indices(es, names)
        yield names, linked_data.load_linked(es=es, redis=redis, names=names, corpus_names=[CORPUS])
    finally:
        drop_prefix(names.prefix)


def test_editors_links_in_flat_text_are_parsed_and_resolved(loaded: tuple[IndexNames, linked_data.Linked]) -> None:
    _, linked = loaded
    gold = {(u, t) for u, ts in linked.gold.items() for t in ts}
    found = {(u, t) for u, p in linked.profiles.items() for t in p.editor_uids}
    assert len(gold) >= 400
    assert len(gold & found) / len(found) >= 0.95
    assert len(gold & found) / len(gold) >= 0.90


def test_the_shipped_model_ranks_editors_links_ahead_of_the_fallback(
    es: Elasticsearch, redis: Redis, loaded: tuple[IndexNames, linked_data.Linked]
) -> None:
    names, linked = loaded
    model = ranker.load(None)
    assert model.learned, "the shipped model file is missing or does not match the features"
    gold = linked_data.as_at_publish(linked)
    recall = {}
    for name, engine in (("model", model), ("fallback", ranker.FALLBACK)):
        hits = total = 0
        for uid, targets in gold.items():
            top = lists.similar_articles(
                es=es,
                names=names,
                article=linked.docs[uid],
                profile=linked.profiles.get(uid) or features.Profile(uid=uid),
                k=5,
                earlier_only=True,
                ranker=engine,
                redis=redis,
            )
            hits += len(targets & {i["uid"] for i in top})
            total += len(targets)
        recall[name] = hits / total
    # Measured: 0.78 and 0.58 (it trained on this corpus among others; held-out numbers are the bench's).
    assert recall["model"] >= recall["fallback"] + 0.05, recall
