"""Article state in the real Redis: revisions are ordered by version, status is derived, never backwards."""

from __future__ import annotations

from redis import Redis

from shared.state import REPLICATION_SHORT, StateStore, revision_for


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
    assert store.get("fast-worker").status == "published"
    assert revision_for(1, 5) < revision_for(2, 1)


# Epoch-millisecond versions put revisions near 2**60, past the 2**53 a Lua number holds exactly.
EPOCH_MS = 1_700_000_000_000


def test_revisions_beyond_double_precision_are_stored_and_compared_exactly(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    rev = store.reserve_revision("ems-single", EPOCH_MS)
    assert rev > 2**53
    assert store.commit("ems-single", rev, op="upsert", version=EPOCH_MS)
    state = store.get("ems-single")
    assert (state.revision, state.version) == (rev, EPOCH_MS)
    # rev and rev + 1 are the same double: only an exact comparison tells them apart.
    assert float(rev) == float(rev + 1)
    store.mark_applied("ems-single", rev)
    assert store.commit("ems-single", rev + 1, op="withdraw", version=EPOCH_MS)
    assert store.get("ems-single").status == "accepted"  # rev + 1 is not applied yet
    assert not store.commit("ems-single", rev, op="upsert", version=EPOCH_MS)  # never backwards


def test_bulk_commit_keeps_epoch_ms_revisions_exact(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    items = [(f"ems-bulk-{i}", EPOCH_MS + i) for i in range(2)]
    revisions = store.reserve_revisions(items)
    commits = [(uid, rev, {"op": "upsert", "version": version}) for (uid, version), rev in zip(items, revisions)]
    assert store.commit_many(commits) == [True, True]
    for (uid, version), rev in zip(items, revisions):
        state = store.get(uid)
        assert state.fields["revision"] == str(rev)
        assert (state.revision, state.version) == (rev, version)


def test_a_revision_that_was_applied_is_never_reported_failed(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    rev = store.reserve_revision("applied-then-batch-failed", 1)
    store.commit("applied-then-batch-failed", rev, op="upsert", version=1)
    store.mark_applied("applied-then-batch-failed", rev)
    # The rest of its batch failed for good; the failure handler marks every event of the batch.
    assert not store.mark_failed("applied-then-batch-failed", rev, "PoisonEventError: another event")
    state = store.get("applied-then-batch-failed")
    assert state.status == "published"
    assert "failed_revision" not in state.fields and "error" not in state.fields


def test_a_takedown_is_reported_done_only_once_applied(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    for op, done in (("withdraw", "withdrawn"), ("delete", "deleted")):
        uid = f"takedown-{op}"
        rev = store.reserve_revision(uid, 1)
        store.commit(uid, rev, op="upsert", version=1)
        store.mark_applied(uid, rev)
        takedown = store.reserve_revision(uid, 1)
        store.commit(uid, takedown, op=op, version=1)
        assert store.get(uid).status == "accepted"
        store.mark_failed(uid, takedown, "TransientIndexError: Elasticsearch unavailable")
        assert store.get(uid).status == "failed"
        again = store.reserve_revision(uid, 1)
        store.commit(uid, again, op=op, version=1)
        assert store.get(uid).status == "accepted"
        store.mark_applied(uid, again)
        assert store.get(uid).status == done


def test_a_batch_marks_each_article_applied_and_never_moves_one_back(redis: Redis, prefix: str) -> None:
    store = StateStore(redis, prefix)
    newer, older = revision_for(EPOCH_MS + 1, 1), revision_for(EPOCH_MS, 1)
    store.mark_applied("batch-b", newer, applied_error=None)
    store.mark_applied_many(
        [
            ("batch-a", older, {"applied_op": "upsert", "applied_error": None}),
            ("batch-b", older, {"applied_op": "remove"}),  # a late batch: b already applied a newer revision
        ]
    )
    assert redis.hget(store.key("batch-a"), "applied_revision") == str(older).encode()
    assert redis.hget(store.key("batch-a"), "applied_op") == b"upsert"
    assert redis.hget(store.key("batch-b"), "applied_revision") == str(newer).encode()
    assert redis.hget(store.key("batch-b"), "applied_op") is None


def test_a_commit_waiting_for_a_replica_that_is_not_there_is_bounded_and_counted(redis: Redis, prefix: str) -> None:
    # One Redis has no replica: WAIT answers 0 after its timeout, and the commit stands (ingest carries on;
    # the cluster test shows a replica acknowledging). Both commit forms go through the same pipeline.
    store = StateStore(redis, prefix, wait_replicas=1, wait_timeout_ms=20)
    short = REPLICATION_SHORT._value.get()
    rev = store.reserve_revision("wait-one", 1)
    assert store.commit("wait-one", rev, op="upsert", version=1)
    assert store.commit_many([("wait-many", store.reserve_revision("wait-many", 2), {"op": "upsert", "version": 2})])
    assert store.get("wait-one").version == 1 and store.get("wait-many").version == 2
    assert REPLICATION_SHORT._value.get() == short + 2
    # An older revision is still refused through the pipeline.
    assert not store.commit("wait-one", revision_for(0, 1), op="upsert", version=0)
