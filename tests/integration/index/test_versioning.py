"""Writes are idempotent and order-safe: uid as _id, Kabar's revision as the external version."""

from __future__ import annotations

import json
from collections.abc import Callable

from elasticsearch import Elasticsearch
from redis import Redis

from services.index.indexing import indexer
from shared.es import IndexNames
from shared.state import StateStore
from tests.integration.index.conftest import get_doc, make_event
from tests.stack import Proc, wait_until


def test_replayed_event_is_a_no_op(es: Elasticsearch, redis: Redis, names: IndexNames, unique: str) -> None:
    store = StateStore(redis, names.prefix)
    event = make_event(f"replay-{unique}", title="Harga beras naik", revision=1)
    first = indexer.apply_events(es=es, store=store, names=names, events=[event])
    again = indexer.apply_events(es=es, store=store, names=names, events=[event])
    assert first.upserted == [event.uid]
    assert again.stale == [event.uid] and not again.upserted and not again.failed
    assert get_doc(es, names, event.uid)["revision"] == 1  # type: ignore[index]


def test_out_of_order_revisions_end_at_the_newest(
    es: Elasticsearch, redis: Redis, names: IndexNames, unique: str
) -> None:
    store = StateStore(redis, names.prefix)
    rev3 = make_event(f"order-{unique}", title="Judul revisi tiga", revision=3)
    rev2 = make_event(f"order-{unique}", title="Judul revisi dua", revision=2)
    indexer.apply_events(es=es, store=store, names=names, events=[rev3])
    late = indexer.apply_events(es=es, store=store, names=names, events=[rev2])
    assert late.stale == [rev2.uid]
    doc = get_doc(es, names, rev3.uid)
    assert doc and doc["revision"] == 3 and doc["title"] == "Judul revisi tiga"
    assert store.get(rev3.uid).fields["applied_revision"] == "3"


def _applied_lines(worker: Proc, uid: str) -> list[dict[str, object]]:
    """The worker's own record of each message it handled for this article (JSON log lines)."""
    lines = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if uid in line and '"articles.applied"' in line:
            record = json.loads(line)
            if record.get("article_id") == uid:
                lines.append(record)
    return lines


def test_worker_delivers_out_of_order_and_replays_safely(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    rev3 = make_event(f"worker-order-{unique}", title="Versi tiga dari berita", revision=3)
    rev2 = make_event(f"worker-order-{unique}", title="Versi dua dari berita", revision=2)
    producer([rev3], related=False)
    wait_until(lambda: len(_applied_lines(worker, rev3.uid)) == 1, timeout=20, what="rev 3 handled")
    # Rev 2 arrives late, then rev 3 is replayed: done only when the worker says it handled both (with two
    # worker processes, anything sent after them could finish first).
    producer([rev2], related=False)
    producer([rev3], related=False)
    handled = wait_until(
        lambda: len(lines := _applied_lines(worker, rev3.uid)) == 3 and lines,
        timeout=20,
        what="the late rev 2 and the replayed rev 3 handled",
    )
    assert [(r["upserted"], r["stale"]) for r in handled] == [(1, 0), (0, 1), (0, 1)]
    doc = get_doc(es, names, rev3.uid)
    assert doc and doc["revision"] == 3 and doc["title"] == "Versi tiga dari berita"
