"""The release schedule on real Redis: claims keep pollers apart, a sent release is forgotten only if its
time did not move meanwhile, and an applied batch schedules and cancels what it should."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis import Redis

from services.index.embargo.schedule import EmbargoSchedule, releases_for
from shared.events import ArticleEvent, Operation


def _schedule(redis: Redis) -> EmbargoSchedule:
    return EmbargoSchedule(redis, f"s{uuid.uuid4().hex[:8]}")


def test_due_entries_are_claimed_once_and_forgotten_after_the_send(redis: Redis) -> None:
    schedule = _schedule(redis)
    now = datetime.now(UTC)
    schedule.sync(scheduled={"due": now - timedelta(seconds=1), "later": now + timedelta(hours=1)}, cancelled=())
    uids, _ = schedule.claim(now=now.timestamp(), lease=10, limit=10)
    assert uids == ["due"]
    # A second poller at the same moment finds nothing: the claim moved the entry out of its way.
    assert schedule.claim(now=now.timestamp(), lease=10, limit=10)[0] == []
    # A poller that died after claiming: the entry comes back when the lease runs out (never lost).
    assert schedule.claim(now=now.timestamp() + 11, lease=10, limit=10)[0] == ["due"]
    redis.delete(schedule.key)


def test_a_time_moved_after_the_claim_survives_the_forget(redis: Redis) -> None:
    schedule = _schedule(redis)
    now = datetime.now(UTC)
    schedule.sync(scheduled={"a": now, "b": now}, cancelled=())
    uids, claim = schedule.claim(now=now.timestamp(), lease=10, limit=10)
    assert sorted(uids) == ["a", "b"]
    moved = now + timedelta(minutes=5)
    schedule.sync(scheduled={"b": moved}, cancelled=())  # an update while the release was being sent
    assert schedule.forget_claimed(["a", "b"], claim) == 1
    assert schedule.when("a") is None
    assert schedule.when("b") == moved.timestamp()
    redis.delete(schedule.key)


def test_a_batch_schedules_embargoes_and_cancels_on_publish_or_takedown(redis: Redis) -> None:
    now = datetime.now(UTC)
    soon = now + timedelta(minutes=10)
    removal = ArticleEvent(
        op=Operation.WITHDRAW, uid="w", newsroom="n", external_id="w", revision=2, version=1, article=None
    )
    scheduled, cancelled = releases_for(
        [removal], embargoed={"e": soon}, stale=[], upserted=["e", "v"], removed=["w"], now=now
    )
    assert scheduled == {"e": soon}
    assert sorted(cancelled) == ["v", "w"]
    schedule = _schedule(redis)
    schedule.sync(scheduled={"v": soon, "w": soon}, cancelled=())
    schedule.sync(scheduled=scheduled, cancelled=cancelled)
    assert schedule.when("e") == soon.timestamp()
    assert schedule.when("v") is None and schedule.when("w") is None
    redis.delete(schedule.key)
