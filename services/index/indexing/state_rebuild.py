"""Rebuild the article state in Redis from Elasticsearch after Redis lost it.

Every document in the articles alias (published, withdrawn or a delete tombstone) carries the newsroom,
external id, version, revision and status, which is all ingest needs to answer unpublish and delete and
to number the next version. The document *is* applied, so its revision becomes `applied_revision` too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from elasticsearch import Elasticsearch, helpers
from redis import Redis

from services.index.embargo.schedule import EmbargoSchedule
from shared.es import PUBLISHED, IndexNames
from shared.events import Operation
from shared.models import LEGACY_DOC_STATUS
from shared.state import SEQUENCE_BITS, StateStore

log = structlog.get_logger()

# The op each Elasticsearch status stands for (the worker writes the op's value as the status).
_OP_BY_STATUS = {op.status.value: op for op in Operation} | {
    legacy: next(op for op in Operation if op.status == status) for legacy, status in LEGACY_DOC_STATUS.items()
}

_SOURCE_FIELDS = [
    "uid",
    "newsroom",
    "external_id",
    "status",
    "revision",
    "version",
    "title",
    "path",
    "accepted_at",
    "indexed_at",
    "embargo_until",
]
# Releases are re-scheduled for embargoes that lift after this far back: one that lifted while the schedule
# was lost may have had no release yet (a second one is harmless; readers saw the story on time anyway).
RESCHEDULE_LOOKBACK = timedelta(days=1)

# For each KEYS[i], ARGV[i] is JSON {"revision": "<decimal>", "next": "<decimal>", "fields": {name: "value"}}.
# Write the hash unless Redis already holds this revision or a newer one (it was not lost for that
# article, or ingest accepted something newer that is still queued): state never moves backwards.
# Revisions reach 2**63, beyond a Lua double's exact integers, so they travel and compare as decimal
# strings (a longer digit string is larger; equal lengths compare lexicographically). Only a stored
# value that is not plain digits (written as a double by an older script) falls back to tonumber().
# An older hash is replaced, not merged: its content_hash, errors and failed revision describe a write
# Elasticsearch has since superseded. next_revision only grows, so no revision is ever handed out twice.
_REBUILD_MANY = """
local function canonical(s)
  local trimmed = string.gsub(s, '^0+', '')
  if trimmed == '' then return '0' end
  return trimmed
end
local function compare(a, b)
  if not (string.match(a, '^%d+$') and string.match(b, '^%d+$')) then
    local x, y = tonumber(a) or 0, tonumber(b) or 0
    if x == y then return 0 elseif x < y then return -1 else return 1 end
  end
  a, b = canonical(a), canonical(b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local results = {}
for i, key in ipairs(KEYS) do
  local item = cjson.decode(ARGV[i])
  local stored = redis.call('HGET', key, 'revision')
  if stored and compare(stored, item['revision']) >= 0 then
    results[i] = 0
  else
    -- next_revision is a small HINCRBY counter, exact as a number.
    local next_revision = tonumber(redis.call('HGET', key, 'next_revision') or '0') or 0
    if tonumber(item['next']) > next_revision then next_revision = tonumber(item['next']) end
    redis.call('DEL', key)
    redis.call('HSET', key, 'revision', item['revision'], 'applied_revision', item['revision'],
      'next_revision', string.format('%d', next_revision))
    for name, value in pairs(item['fields']) do redis.call('HSET', key, name, value) end
    results[i] = 1
  end
end
return results
"""


@dataclass
class RebuildResult:
    """What a rebuild did: documents scanned, hashes written, hashes kept because Redis was as new or newer."""

    scanned: int = 0
    written: int = 0
    kept: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        rate = round(self.scanned / self.seconds) if self.seconds > 0 else None
        return {**self.__dict__, "seconds": round(self.seconds, 3), "articles_per_second": rate}


def state_fields(source: dict[str, Any], *, revision: int) -> dict[str, str] | None:
    """The state hash fields one Elasticsearch document implies (None: not an article document)."""
    op = _OP_BY_STATUS.get(str(source.get("status")))
    if op is None or not source.get("newsroom") or not source.get("external_id"):
        return None
    version = int(source.get("version") or revision >> SEQUENCE_BITS)
    fields = {
        "op": op.value,
        "version": str(version),
        "newsroom": str(source["newsroom"]),
        "external_id": str(source["external_id"]),
    }
    for name in ("title", "path", "accepted_at", "indexed_at", "embargo_until"):
        if source.get(name):
            fields[name] = str(source[name])
    # When the removal reached Elasticsearch is the closest fact it keeps about when it was asked for.
    if op != Operation.UPSERT and source.get("indexed_at"):
        fields["withdrawn_at" if op == Operation.WITHDRAW else "deleted_at"] = str(source["indexed_at"])
    # content_hash is not in Elasticsearch and is left out: the first replay of identical content after
    # a rebuild is accepted and indexed once more instead of answering `unchanged`, which is harmless.
    return fields


def _items(*, es: Elasticsearch, names: IndexNames, batch_size: int) -> Iterator[dict[str, Any]]:
    # A search sees only refreshed documents: without this, writes of the last second would be missed.
    es.indices.refresh(index=names.articles)
    # Every status: withdrawn and deleted articles need their state as much as published ones.
    yield from helpers.scan(
        es,
        index=names.articles,
        query={"query": {"match_all": {}}},
        _source=_SOURCE_FIELDS,
        version=True,
        size=batch_size,
        scroll="5m",
    )


def rebuild_state(
    *, es: Elasticsearch, redis: Redis, names: IndexNames, prefix: str, batch_size: int = 1000
) -> RebuildResult:
    """Write every article's state hash from its Elasticsearch document, never over a newer one."""
    script = redis.register_script(_REBUILD_MANY)
    store = StateStore(redis, prefix)
    result = RebuildResult()
    started = time.monotonic()
    keys: list[str] = []
    args: list[str] = []
    # The release schedule lives in the same Redis: whatever lost the state lost it too.
    releases: dict[str, datetime] = {}
    since = datetime.now(UTC) - RESCHEDULE_LOOKBACK

    def flush() -> None:
        if keys:
            outcomes = script(keys=keys, args=args)
            result.written += sum(1 for o in outcomes if o)
            result.kept += sum(1 for o in outcomes if not o)
            keys.clear()
            args.clear()

    for hit in _items(es=es, names=names, batch_size=batch_size):
        result.scanned += 1
        source = hit["_source"]
        # _version is what external versioning makes the next write beat; it equals the revision field.
        revision = max(int(hit.get("_version") or 0), int(source.get("revision") or 0))
        fields = state_fields(source, revision=revision)
        embargo = datetime.fromisoformat(source["embargo_until"]) if source.get("embargo_until") else None
        if embargo is not None and embargo > since and source.get("status") == PUBLISHED:
            releases[hit["_id"]] = embargo
        if fields is None or revision <= 0:
            result.skipped += 1
            continue
        keys.append(store.key(hit["_id"]))
        args.append(
            json.dumps(
                {
                    "revision": str(revision),
                    # Low bits of the revision: the next reservation for this version is above it.
                    "next": str(revision & ((1 << SEQUENCE_BITS) - 1)),
                    "fields": fields,
                }
            )
        )
        if len(keys) >= batch_size:
            flush()
    flush()
    EmbargoSchedule(redis, prefix).sync(scheduled=releases, cancelled=())
    result.seconds = time.monotonic() - started
    log.info("state.rebuilt", **result.as_dict())
    return result
