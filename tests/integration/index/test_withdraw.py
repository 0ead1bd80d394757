"""Withdraw and delete remove an article from search and from every related list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from shared.es import IndexNames
from shared.events import Operation
from tests.integration.index.conftest import get_doc, make_event, related_uids, searchable_uids
from tests.stack import Proc, wait_until


@pytest.mark.parametrize("op", [Operation.WITHDRAW, Operation.DELETE])
def test_removed_article_leaves_search_and_every_list(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str, op: Operation
) -> None:
    nonce = f"wd{unique}"
    events = [
        make_event(
            f"wd-{i}-{unique}",
            title=f"Gempa {nonce} guncang Cianjur bagian {i}",
            paragraphs=[
                f"Gempa bumi {nonce} berkekuatan magnitudo 5,6 mengguncang Cianjur. Laporan bagian {i}.",
                f"BMKG mencatat gempa susulan {nonce} sebanyak puluhan kali; warga diminta waspada.",
            ],
            published_at=datetime.now(UTC) - timedelta(hours=10 - i),
        )
        for i in range(3)
    ]
    producer(events)
    victim = events[1]
    others = [events[0], events[2]]
    for other in others:
        wait_until(lambda o=other: victim.uid in (related_uids(es, names, o.uid) or []), timeout=20, what="linked")
    assert victim.uid in searchable_uids(es, names, nonce)

    producer([make_event(victim.external_id, op=op, revision=2)])
    wait_until(lambda: get_doc(es, names, victim.uid)["status"] == op.status, timeout=20, what="removed")  # type: ignore[index]
    assert victim.uid not in searchable_uids(es, names, nonce)
    # The worker cuts it from every list right after the write (no recomputation needed)…
    wait_until(
        lambda: all(victim.uid not in (related_uids(es, names, o.uid) or []) for o in others), timeout=5, what="cut"
    )
    assert related_uids(es, names, victim.uid) is None
    doc = get_doc(es, names, victim.uid)
    assert doc and doc["revision"] == 2
    if op == Operation.DELETE:
        assert "title" not in doc and "body_text" not in doc
    # …and the refills that follow (scheduled by the cut) never bring it back: wait for those very
    # refills, recognisable by a computation time after the cut.
    cut_at = datetime.now(UTC)

    def refilled() -> bool:
        lists = [_stored(es, names, o.uid) for o in others]
        return all(src and datetime.fromisoformat(str(src["computed_at"])) > cut_at for src in lists)

    wait_until(refilled, timeout=20, what="both lists recomputed after the cut")
    for other in others:
        assert victim.uid not in (related_uids(es, names, other.uid) or [])


def _stored(es: Elasticsearch, names: IndexNames, uid: str) -> dict[str, object] | None:
    resp = es.options(ignore_status=404).get(index=names.related, id=uid)
    return resp["_source"] if resp.get("found") else None
