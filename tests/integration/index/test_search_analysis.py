"""Indonesian analysis through the alias: stemmed matching, an unstemmed subfield, the completion field."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch
from redis import Redis

from services.index.indexing import indexer
from services.index.indexing.backfill import upsert_event
from shared.es import IndexNames
from shared.state import StateStore
from tests.integration.index.conftest import searchable_uids


def _index_seed(es: Elasticsearch, redis: Redis, names: IndexNames, seed: dict[str, Any]) -> str:
    event = upsert_event(seed, newsroom="channel9")
    indexer.apply_events(es=es, store=StateStore(redis, names.prefix), names=names, events=[event])
    return event.uid


def test_other_inflections_find_the_seed_article(
    es: Elasticsearch, redis: Redis, names: IndexNames, seed_article: dict[str, Any]
) -> None:
    uid = _index_seed(es, redis, names, seed_article)
    # The body says "mempertimbangkannya" and "ketegangan"; readers type other forms.
    assert uid in searchable_uids(es, names, "pertimbangan")
    assert uid in searchable_uids(es, names, "tegang")
    doc = es.get(index=names.articles, id=uid)["_source"]
    assert "Tinggalkan Balasan" not in doc["body_text"]
    assert "Rusia Desak AS" not in doc["body_text"]  # the editors' line is cut from the indexed text…
    assert {"title": "Rusia Desak AS Untuk Berikan Respon Jaminan Keamanan"} in doc["editor_related"]  # …and kept


def test_exact_subfield_does_not_stem(es: Elasticsearch, redis: Redis, names: IndexNames, seed_article: dict[str, Any]):
    uid = _index_seed(es, redis, names, seed_article)
    es.indices.refresh(index=names.articles)

    def hits(field: str, text: str) -> list[str]:
        resp = es.search(index=names.articles, query={"match": {field: text}}, size=20)
        return [h["_id"] for h in resp["hits"]["hits"]]

    assert uid in hits("body_text", "pertimbangan")
    assert uid not in hits("body_text.exact", "pertimbangan")
    assert uid in hits("body_text.exact", "mempertimbangkannya")


def test_title_completion(es: Elasticsearch, redis: Redis, names: IndexNames, seed_article: dict[str, Any]) -> None:
    _index_seed(es, redis, names, seed_article)
    es.indices.refresh(index=names.articles)
    resp = es.search(
        index=names.articles,
        suggest={"t": {"prefix": "rusia pert", "completion": {"field": "title_suggest"}}},
        source=["title"],
    )
    titles = [o["_source"]["title"] for o in resp["suggest"]["t"][0]["options"]]
    assert seed_article["title"] in titles
