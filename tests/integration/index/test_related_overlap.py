"""Two computations of one related list overlapping, as they do with several related workers: the one that
started later (and so read the index after whatever asked for it) is the list that stays."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from redis import Redis

from services.index.indexing import indexer
from services.index.related import lists
from shared.es import IndexNames
from shared.state import StateStore
from tests.integration.index.conftest import make_event, related_uids


def _story(nonce: str, angle: str) -> list[str]:
    # A nonce word makes these stories each other's closest neighbours in the shared test index.
    return [
        f"Longsor menimbun jalan provinsi di Desa {nonce} setelah hujan deras semalaman. {angle}",
        f"Warga {nonce} dievakuasi ke sekolah terdekat, alat berat dikerahkan membuka jalan {nonce}.",
        f"Bupati menetapkan status tanggap darurat longsor {nonce} selama empat belas hari.",
    ]


def test_an_earlier_computation_finishing_last_does_not_overwrite_a_later_list(
    es: Elasticsearch, redis: Redis, names: IndexNames, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nonce = f"lw{unique}"
    now = datetime.now(UTC)
    article = make_event(
        f"ovl-a-{unique}",
        title=f"Longsor tutup jalan Desa {nonce}",
        paragraphs=_story(nonce, "Jalan tertutup total."),
        published_at=now - timedelta(days=1),
    )
    older = make_event(
        f"ovl-b-{unique}",
        title=f"Hujan deras picu longsor kecil di Desa {nonce}",
        paragraphs=_story(nonce, "Belum ada korban."),
        published_at=now - timedelta(days=2),
    )
    store = StateStore(redis, names.prefix)
    indexer.apply_events(es=es, store=store, names=names, events=[article, older])
    es.indices.refresh(index=names.articles)

    # The first computation reads the index, then stalls (a slow worker) before storing its list.
    read, resume = threading.Event(), threading.Event()
    real = lists.similar_articles

    def stalling(**kwargs: Any) -> list[dict[str, Any]]:
        found = real(**kwargs)
        if threading.current_thread().name == "slow-related":
            read.set()
            resume.wait(30)
        return found

    monkeypatch.setattr(lists, "similar_articles", stalling)
    slow = threading.Thread(
        target=lists.compute_related,
        kwargs={"es": es, "names": names, "uid": article.uid, "redis": redis},
        name="slow-related",
    )
    slow.start()
    try:
        assert read.wait(30), "the first computation never read its candidates"
        # Meanwhile a closer story arrives, and its refresh of this list runs to the end on another worker.
        newer = make_event(
            f"ovl-c-{unique}",
            title=f"Longsor Desa {nonce}: jalan provinsi ditutup total",
            paragraphs=_story(nonce, "Jalan tertutup total, warga dievakuasi."),
            published_at=now,
        )
        indexer.apply_events(es=es, store=store, names=names, events=[newer])
        es.indices.refresh(index=names.articles)
        later = lists.compute_related(es=es, names=names, uid=article.uid, redis=redis)
        assert later is not None and newer.uid in later["related_uids"]
    finally:
        resume.set()
        slow.join(30)
    assert not slow.is_alive()

    # The stalled computation finished last, with a list from before the newer story: it must not stand.
    assert newer.uid in (related_uids(es, names, article.uid) or [])
