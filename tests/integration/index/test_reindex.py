"""Reindex to a new index and swap the alias while readers search and writers write."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from redis import Redis

from services.index.indexing import indexer
from services.index.indexing.reindex import reindex, write_index
from shared.es import IndexNames, create_client, drop_indices, ensure_indices
from shared.state import StateStore
from tests.integration.index.conftest import make_event


@pytest.fixture
def rx_names(prefix: str, es: Elasticsearch) -> Iterator[IndexNames]:
    # Its own prefix: the migration moves the alias and deletes the old index.
    names = IndexNames(f"{prefix}rx")
    ensure_indices(es, names)
    yield names
    drop_indices(es, names)


def test_searches_keep_answering_during_reindex(
    es: Elasticsearch, redis: Redis, settings, rx_names: IndexNames
) -> None:
    store = StateStore(redis, rx_names.prefix)
    words = "Pemilihan umum kepala daerah serentak digelar di seluruh provinsi"
    events = [make_event(f"rx-{i}", title=f"Pilkada {i}", paragraphs=[f"{words}. Laporan {i}."]) for i in range(1500)]
    for start in range(0, len(events), 500):
        indexer.apply_events(es=es, store=store, names=rx_names, events=events[start : start + 500])
    es.indices.refresh(index=rx_names.articles)
    old = write_index(es=es, names=rx_names)

    stop = threading.Event()
    errors: list[str] = []
    counts: list[int] = []
    written: list[str] = []
    write_errors: list[str] = []

    def search_loop() -> None:
        client = create_client(settings)
        while not stop.is_set():
            try:
                resp = client.search(index=rx_names.articles, query={"match": {"body_text": "pemilihan"}}, size=5)
                counts.append(resp["hits"]["total"]["value"])
            except Exception as exc:
                errors.append(repr(exc))
        client.close()

    def write_loop() -> None:
        client = create_client(settings)
        i = 0
        while not stop.is_set():
            event = make_event(f"rx-live-{i}", title=f"Berita baru {i}", paragraphs=[f"{words}. Baru {i}."])
            try:
                result = indexer.apply_events(es=client, store=store, names=rx_names, events=[event])
            except Exception as exc:  # a failing writer must fail the test, not end its thread quietly
                write_errors.append(repr(exc))
                break
            if result.upserted != [event.uid]:
                write_errors.append(f"{event.uid}: {result}")
            written.append(event.uid)
            i += 1
            time.sleep(0.02)
        client.close()

    threads = [threading.Thread(target=search_loop), threading.Thread(target=write_loop)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    result = reindex(es=es, names=rx_names, delete_old=True, chunk_size=200)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(10)

    assert not errors, errors[:3]
    assert not write_errors, write_errors[:3]
    assert not any(t.is_alive() for t in threads)
    assert len(written) >= 3, "the writer must have written during the copy, or the test proves nothing"
    assert len(counts) > 20 and min(counts) >= 1500
    assert result.old_index == old and result.deleted_old
    assert write_index(es=es, names=rx_names) == result.new_index != old
    assert not es.indices.exists(index=old)
    es.indices.refresh(index=rx_names.articles)
    # Every article, including those written during the copy, is in the new index, at its revision.
    assert es.count(index=rx_names.articles)["count"] == 1500 + len(written)
    missing = [uid for uid in written if not es.exists(index=rx_names.articles, id=uid)]
    assert not missing
    doc = es.get(index=rx_names.articles, id=events[0].uid)
    assert doc["_version"] == 1 and doc["_source"]["title"] == "Pilkada 0"
