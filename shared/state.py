"""Article pipeline state in Redis, as the newsroom sees it: version, revision, status, timestamps.

Ingest writes it after RabbitMQ confirms a message; workers record the highest revision they applied
(or failed). Status is derived from those numbers, so the order in which ingest and a fast worker
write never matters, and a late or replayed writer can never move the state backwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter
from redis import Redis
from redis.client import Pipeline

from shared.events import Operation
from shared.models import ArticleStatus

log = structlog.get_logger()

REPLICATION_SHORT = Counter(
    "kabar_state_replication_short_total",
    "State commits that fewer replicas than KABAR_REDIS_WAIT_REPLICAS acknowledged within the timeout",
)

# Revisions reach 2**63 (the newsroom version sits in the high bits), beyond the 2**53 a Lua number
# holds exactly, so every script compares them as decimal strings: the longer one is larger, and equal
# lengths compare character by character. Python sends every number as a string for the same reason.
_OLDER = """
local function older(a, b)
  a = a or '0'
  b = b or '0'
  if #a ~= #b then return #a < #b end
  return a < b
end
"""

# Commit fields only if the given revision is at least the stored one (atomic compare-and-set).
_COMMIT = (
    _OLDER
    + """
if older(ARGV[1], redis.call('HGET', KEYS[1], 'revision')) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
)

# _COMMIT for many articles: ARGV[i] is the JSON [revision, {field: value}] for KEYS[i], every value a
# string. One argument per article keeps bulk ingest from packing thousands of small Redis arguments.
_COMMIT_MANY = (
    _OLDER
    + """
local results = {}
for i, key in ipairs(KEYS) do
  local item = cjson.decode(ARGV[i])
  if older(item[1], redis.call('HGET', key, 'revision')) then
    results[i] = 0
  else
    redis.call('HSET', key, 'revision', item[1])
    for name, value in pairs(item[2]) do redis.call('HSET', key, name, value) end
    results[i] = 1
  end
end
return results
"""
)

# Raise a high-water mark field (applied_revision / failed_revision) and set companions alongside,
# unless the guard field (ARGV[3], may be empty) already reached this revision: a revision that was
# applied is never reported failed, whatever a later retry of its batch did.
_RAISE = (
    _OLDER
    + """
local incoming = ARGV[2]
if older(incoming, redis.call('HGET', KEYS[1], ARGV[1])) then return 0 end
if ARGV[3] ~= '' and not older(redis.call('HGET', KEYS[1], ARGV[3]), incoming) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], incoming)
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
)

# _RAISE for many articles: ARGV[i] is the JSON [field, revision, guard, {field: value}] for KEYS[i]. One
# script call per bulk batch: a pipeline of one call per article spent more time packing than Redis did.
_RAISE_MANY = (
    _OLDER
    + """
local results = {}
for i, key in ipairs(KEYS) do
  local item = cjson.decode(ARGV[i])
  local incoming = item[2]
  if older(incoming, redis.call('HGET', key, item[1]))
      or (item[3] ~= '' and not older(redis.call('HGET', key, item[3]), incoming)) then
    results[i] = 0
  else
    redis.call('HSET', key, item[1], incoming)
    for name, value in pairs(item[4]) do redis.call('HSET', key, name, value) end
    results[i] = 1
  end
end
return results
"""
)


# MAX_VERSION (shared/models.py) leaves these low bits for the counter within Elasticsearch's 63 bits.
SEQUENCE_BITS = 20


def revision_for(version: int, sequence: int) -> int:
    """Revision = newsroom version in the high bits, a per-article write counter in the low bits."""
    return (version << SEQUENCE_BITS) | (sequence % (1 << SEQUENCE_BITS))


_DONE = {op.value: op.status for op in Operation}


def _at_least(mark: str | None, revision: int) -> bool:
    return int(mark or 0) >= revision


def _redis_value(value: Any) -> str:
    """Every value as the string Redis stores (numbers too: Lua would turn big ones into doubles)."""
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else json.dumps(value)


@dataclass(frozen=True)
class ArticleState:
    uid: str
    fields: dict[str, str]

    @property
    def exists(self) -> bool:
        return bool(self.fields.get("revision"))

    @property
    def version(self) -> int:
        return int(self.fields.get("version") or 0)

    @property
    def revision(self) -> int:
        return int(self.fields.get("revision") or 0)

    @property
    def status(self) -> str | None:
        """accepted → indexed/withdrawn/deleted once a worker applied the revision, or failed.

        A takedown is reported done only when Elasticsearch applied it: a newsroom must never be told a
        story is down while readers can still see it.
        """
        op = self.fields.get("op")
        if op is None:
            return None
        if _at_least(self.fields.get("applied_revision"), self.revision):
            if op == Operation.UPSERT and self.embargoed(datetime.now(UTC)):
                return ArticleStatus.SCHEDULED
            return _DONE.get(op, ArticleStatus.PUBLISHED)
        if _at_least(self.fields.get("failed_revision"), self.revision):
            return ArticleStatus.FAILED
        return ArticleStatus.ACCEPTED

    @property
    def embargo_until(self) -> datetime | None:
        """The embargo the current revision was accepted with (stored by ingest, "" when there is none)."""
        raw = self.fields.get("embargo_until")
        return datetime.fromisoformat(raw) if raw else None

    def embargoed(self, now: datetime) -> bool:
        """Readers cannot see the current revision yet: the same test as shared.es.is_visible, at `now`."""
        until = self.embargo_until
        return until is not None and until > now

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.fields)
        if not out.get("embargo_until"):
            out.pop("embargo_until", None)
        for private in ("next_revision", "op", "content_hash", "applied_revision", "failed_revision"):
            out.pop(private, None)
        for key in ("version", "revision"):
            if key in out:
                out[key] = int(out[key])
        out["uid"] = self.uid
        out["status"] = self.status
        return out


def _state(uid: str, raw: Any) -> ArticleState:
    """An ArticleState from a Redis hash reply (bytes from a raw client, str from a decoding one)."""

    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return ArticleState(uid=uid, fields={text(k): text(v) for k, v in raw.items()})


class StateStore:
    """Per-article state hashes under `{prefix}:article:{uid}`."""

    def __init__(self, redis: Redis, prefix: str, *, wait_replicas: int = 0, wait_timeout_ms: int = 500) -> None:
        self.redis = redis
        self.prefix = prefix
        # Commits wait (Redis WAIT) until this many replicas hold them, so a failover to a replica cannot
        # take back a revision ingest already answered for. Bounded: with the replica gone, ingest carries on
        # (the article itself is already in RabbitMQ's replicated queue, and the state rebuilds from
        # Elasticsearch) and each short wait is logged and counted.
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._commit = redis.register_script(_COMMIT)
        self._raise = redis.register_script(_RAISE)
        self._commit_many = redis.register_script(_COMMIT_MANY)
        self._raise_many = redis.register_script(_RAISE_MANY)

    def key(self, uid: str) -> str:
        return f"{self.prefix}:article:{uid}"

    def get(self, uid: str) -> ArticleState:
        return _state(uid, self.redis.hgetall(self.key(uid)))

    def reserve_revision(self, uid: str, version: int) -> int:
        """A new, never reused revision for this article, ordered by the newsroom's version first.

        Concurrent writes of v2 and v3 can reach ingest in any order; because the version is the
        revision's high part, v2 can never get a higher revision than v3, so Elasticsearch's external
        versioning and the state's compare-and-set both end at v3 whatever the timing.
        """
        return revision_for(version, int(self.redis.hincrby(self.key(uid), "next_revision", 1)))

    def commit(self, uid: str, revision: int, **fields: Any) -> bool:
        """Record fields for this revision unless a newer revision was already recorded."""
        args: list[Any] = [str(revision), "revision", str(revision)]
        for name, value in fields.items():
            if value is not None:
                args += [name, _redis_value(value)]
        if not self.wait_replicas:
            return bool(self._commit(keys=[self.key(uid)], args=args))
        committed, _ = self._replicated(lambda pipe: self._commit(keys=[self.key(uid)], args=args, client=pipe))
        return bool(committed)

    def mark_applied(self, uid: str, revision: int, **fields: Any) -> bool:
        """A worker applied this revision to Elasticsearch."""
        return self._raise_mark(uid, "applied_revision", revision, fields)

    def mark_applied_many(self, applied: list[tuple[str, int, dict[str, Any]]]) -> None:
        """mark_applied() for a whole bulk batch in one script call."""
        if not applied:
            return
        keys = [self.key(uid) for uid, _, _ in applied]
        args = [json.dumps(["applied_revision", str(rev), "", _redis_fields(fields)]) for _, rev, fields in applied]
        self._raise_many(keys=keys, args=args)

    def mark_failed(self, uid: str, revision: int, error: str) -> bool:
        """A worker gave up on this revision (it went to the dead-letter queue); never one it applied."""
        args = _raise_args("failed_revision", revision, "applied_revision", {"error": error[:500]})
        return bool(self._raise(keys=[self.key(uid)], args=args))

    def _raise_mark(self, uid: str, field: str, revision: int, fields: dict[str, Any]) -> bool:
        return bool(self._raise(keys=[self.key(uid)], args=_raise_args(field, revision, "", fields)))

    # Batch forms for bulk ingest: one Redis round trip per step instead of one per article.

    def get_many(self, uids: list[str]) -> list[ArticleState]:
        """States of several articles, in the order given."""
        pipe = self.redis.pipeline(transaction=False)
        for uid in uids:
            pipe.hgetall(self.key(uid))
        return [_state(uid, raw) for uid, raw in zip(uids, pipe.execute(), strict=True)]

    def reserve_revisions(self, items: list[tuple[str, int]]) -> list[int]:
        """reserve_revision() for several (uid, version) pairs, in the order given."""
        pipe = self.redis.pipeline(transaction=False)
        for uid, _ in items:
            pipe.hincrby(self.key(uid), "next_revision", 1)
        return [revision_for(version, int(seq)) for (_, version), seq in zip(items, pipe.execute(), strict=True)]

    def commit_many(self, commits: list[tuple[str, int, dict[str, Any]]]) -> list[bool]:
        """commit() for several (uid, revision, fields) at once, in one script call."""
        if not commits:
            return []
        keys = [self.key(uid) for uid, _, _ in commits]
        args = [json.dumps([str(revision), _redis_fields(fields)]) for _, revision, fields in commits]
        if not self.wait_replicas:
            return [bool(r) for r in self._commit_many(keys=keys, args=args)]
        committed, _ = self._replicated(lambda pipe: self._commit_many(keys=keys, args=args, client=pipe))
        return [bool(r) for r in committed]

    def _replicated(self, write: Callable[[Pipeline], object]) -> tuple[Any, int]:
        """The write and a WAIT in one pipeline: WAIT covers the writes sent before it on the same
        connection, which a pooled client only guarantees within one pipeline. Returns (result, replicas)."""
        pipe = self.redis.pipeline(transaction=False)
        write(pipe)
        pipe.execute_command("WAIT", self.wait_replicas, self.wait_timeout_ms)
        result, acknowledged = pipe.execute()
        if int(acknowledged) < self.wait_replicas:
            REPLICATION_SHORT.inc()
            log.warning(
                "state.replication_short",
                replicas=int(acknowledged),
                wanted=self.wait_replicas,
                ms=self.wait_timeout_ms,
            )
        return result, int(acknowledged)


def _redis_fields(fields: dict[str, Any]) -> dict[str, str]:
    return {k: _redis_value(v) for k, v in fields.items() if v is not None}


def _raise_args(field: str, revision: int, guard: str, fields: dict[str, Any]) -> list[str]:
    args = [field, str(revision), guard]
    for name, value in fields.items():
        if value is not None:
            args += [name, _redis_value(value)]
    return args
