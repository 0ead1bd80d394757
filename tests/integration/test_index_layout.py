"""Both indices live behind aliases built from templates, so either can be rebuilt without downtime."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from shared.es import RELATED_MAPPINGS, IndexNames, drop_indices, ensure_indices


@pytest.fixture
def fresh(es: Elasticsearch, prefix: str) -> Iterator[IndexNames]:
    names = IndexNames(f"{prefix}lay{uuid.uuid4().hex[:6]}")
    yield names
    drop_indices(es, names)


def test_related_lists_sit_behind_an_alias_and_a_template(es: Elasticsearch, fresh: IndexNames) -> None:
    ensure_indices(es, fresh)
    ensure_indices(es, fresh)  # safe on every start
    assert es.indices.exists_index_template(name=fresh.related_template)
    [concrete] = list(es.indices.get_alias(name=fresh.related))
    assert concrete.startswith(f"{fresh.related}-v")
    assert es.indices.get_mapping(index=concrete)[concrete]["mappings"]["dynamic"] == "strict"
    es.index(index=fresh.related, id="a", document={"uid": "a", "related_uids": ["b"], "items": []}, refresh=True)
    assert es.get(index=fresh.related, id="a")["_index"] == concrete


def test_a_related_index_of_the_old_layout_is_moved_behind_the_alias_with_its_lists(
    es: Elasticsearch, fresh: IndexNames
) -> None:
    es.indices.create(index=fresh.related, mappings=RELATED_MAPPINGS)  # Kabar 0.x: a concrete index
    es.index(index=fresh.related, id="old", document={"uid": "old", "related_uids": ["x"], "items": []}, refresh=True)
    ensure_indices(es, fresh)
    assert es.indices.exists_alias(name=fresh.related)
    assert es.get(index=fresh.related, id="old")["_source"]["related_uids"] == ["x"]
    assert fresh.related not in es.indices.get(index=f"{fresh.prefix}-*")  # no concrete index by that name
