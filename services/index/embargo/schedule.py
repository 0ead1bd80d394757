"""The release schedule: one Redis sorted set per prefix, member = article uid, score = release time.

Elasticsearch is the truth about what readers see (ONLY_PUBLISHED compares embargo_until with its own
`now` at every query), so a story is never early and is on time whether or not any worker runs. This set
only says when to make the rest follow: purge cached pages, fan the story out to related lists, tell
subscribers. Not a broker ETA: RabbitMQ's consumer timeout cuts long delays short, and a sorted set
survives worker restarts, lets an update move the time (ZADD overwrites) and an unpublish cancel it.

Delivery is at least once: a poller claims due entries by pushing their score a lease ahead, sends one
release task each (publisher confirms), and only then removes an entry whose score is still its claim.
A crash after the claim re-fires the entry when the lease runs out; a crash after the send gives a
duplicate release, which the release task makes harmless. Nothing is ever lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from redis import Redis

from shared.events import ArticleEvent, Operation

# Claim up to ARGV[3] members due at ARGV[1] (epoch seconds): each one's score becomes ARGV[2] (the end of
# the claim's lease) so no other poller takes it meanwhile. Returns [uid, claimed score, ...].
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, uid in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], uid)
  table.insert(out, uid)
end
return out
"""

# Remove each member ARGV[i] (i >= 2) only if its score is still the claim ARGV[1]: an update that moved
# the time since (ZADD) or a re-schedule keeps its entry.
_FORGET_CLAIMED = """
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
"""


def schedule_key(prefix: str) -> str:
    return f"{prefix}:embargo"


def epoch(moment: datetime) -> float:
    return moment.timestamp()


class EmbargoSchedule:
    """The sorted set of one prefix, with its claim and compare-and-remove scripts."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = schedule_key(prefix)
        self._claim = redis.register_script(_CLAIM)
        self._forget = redis.register_script(_FORGET_CLAIMED)

    def sync(self, *, scheduled: Mapping[str, datetime], cancelled: Iterable[str]) -> None:
        """Add or move releases and cancel others, in one round trip (a uid in both stays scheduled)."""
        gone = [uid for uid in dict.fromkeys(cancelled) if uid not in scheduled]
        if not scheduled and not gone:
            return
        pipe = self.redis.pipeline(transaction=False)
        if gone:
            pipe.zrem(self.key, *gone)
        if scheduled:
            pipe.zadd(self.key, {uid: epoch(at) for uid, at in scheduled.items()})
        pipe.execute()

    def claim(self, *, now: float, lease: float, limit: int) -> tuple[list[str], float]:
        """Due uids, claimed until now + lease; and the claim score (for forget_claimed)."""
        until = now + lease
        uids = self._claim(keys=[self.key], args=[repr(now), repr(until), str(limit)])
        return [u.decode() if isinstance(u, bytes) else str(u) for u in uids], until

    def forget_claimed(self, uids: list[str], claim: float) -> int:
        """Drop entries whose release was sent, unless their time was moved since the claim."""
        if not uids:
            return 0
        return int(self._forget(keys=[self.key], args=[repr(claim), *uids]))

    def when(self, uid: str) -> float | None:
        """The scheduled release time of one article (epoch seconds), if any."""
        score = self.redis.zscore(self.key, uid)
        return float(score) if score is not None else None

    def due_count(self, now: float) -> int:
        return int(self.redis.zcount(self.key, "-inf", now))


def releases_for(
    events: Iterable[ArticleEvent],
    *,
    embargoed: Mapping[str, datetime],
    stale: Iterable[str],
    upserted: Iterable[str],
    removed: Iterable[str],
    now: datetime | None = None,
) -> tuple[dict[str, datetime], list[str]]:
    """What an applied batch does to the schedule: (uid -> release time to set, uids to cancel).

    Upserts applied under a future embargo are scheduled. A stale upsert (a redelivery after Elasticsearch
    took it but before the schedule was written) is scheduled again from its own embargo: the release task
    reads the article and ignores a release that no longer applies. An upsert readers already see and every
    withdrawal or deletion cancel a pending release.
    """
    now = now or datetime.now(UTC)
    scheduled = dict(embargoed)
    stale_set = set(stale)
    for event in events:
        if event.uid in stale_set and event.op == Operation.UPSERT and event.article is not None:
            until = event.article.embargo_until
            if until is not None and until > now:
                scheduled.setdefault(event.uid, until)
    cancelled = [uid for uid in upserted if uid not in embargoed] + list(removed)
    return scheduled, cancelled
