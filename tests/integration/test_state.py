"""Article state in the real Redis: revisions are ordered by version, status is derived, never backwards."""

from __future__ import annotations

from redis import Redis

from shared.state import StateStore, revision_for


def test_an_older_version_reserved_later_still_gets_the_lower_revision(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    # v3 and v2 of one article race through ingest; v3 happens to reserve first.
    rev3 = store.reserve_revision("race-uid", 3)
    rev2 = store.reserve_revision("race-uid", 2)
    assert rev2 < rev3
    assert store.commit("race-uid", rev3, op="upsert", version=3)
    assert not store.commit("race-uid", rev2, op="upsert", version=2)  # the late v2 commit is refused
    assert store.get("race-uid").version == 3
    # A later write of the same version (e.g. unpublish) still moves forward.
    assert store.reserve_revision("race-uid", 3) > rev3


def test_status_is_derived_from_applied_revision_in_any_order(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    rev = store.reserve_revision("fast-worker", 1)
    # A fast worker applies the revision before ingest recorded "accepted".
    store.mark_applied("fast-worker", rev)
    store.commit("fast-worker", rev, op="upsert", version=1)
    assert store.get("fast-worker").status == "indexed"
    assert revision_for(1, 5) < revision_for(2, 1)
