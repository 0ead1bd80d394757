"""Record every applied revision in the article's history (shared/history.py), for the newsroom's audit.

Called by the indexing task after each batch: one script call for the whole batch (and one mget when
the batch had stale events). Only revisions Elasticsearch holds are recorded: an out-of-order event
never is. A redelivered batch's events are stale too, yet of the revision Elasticsearch holds: they are
recorded if the first delivery died before recording them, and the script adds nothing for a revision
it already holds, so a redelivery never adds a second entry.

What changed is worked out inside the script, against the hashes stored with the highest lower revision,
so two workers recording neighbouring revisions of one article at the same moment still compare each
with its true predecessor (and a revision recorded late corrects the `changed` of the one above it).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch
from redis import Redis

from services.index.indexing.indexer import ApplyResult, build_document
from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.history import HISTORY_FIELDS, HISTORY_LIMIT, history_key

log = structlog.get_logger()

# KEYS[i]: an article's history hash; ARGV[1]: the limit; ARGV[2]: HISTORY_FIELDS as JSON; ARGV[i + 2]: the
# entry for KEYS[i]. Revisions are compared as decimal strings (see shared/state.py: Lua numbers are doubles).
_RECORD = """
local function older(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end

local limit = tonumber(ARGV[1])
local fields = cjson.decode(ARGV[2])

local function list(value)
  if type(value) == 'table' then return value end
  return {}
end

-- changed fields and corrections added, against the entry of the revision before (nil: none recorded)
local function compare(entry, prev)
  local changed = {}
  local added = {}
  local corrections = list(entry.corrections)
  if prev == nil then
    changed[1] = (entry.op == 'upsert') and 'created' or 'status'
    for _, c in ipairs(corrections) do added[#added + 1] = c end
  else
    local before = list(prev.hashes)
    for _, name in ipairs(fields) do
      if entry.hashes[name] ~= before[name] then changed[#changed + 1] = name end
    end
    local seen = {}
    for _, id in ipairs(list(prev.correction_ids)) do seen[id] = true end
    for _, c in ipairs(corrections) do
      if not seen[c.id] then added[#added + 1] = c end
    end
  end
  entry.changed = changed
  entry.corrections_added = added
end

local recorded = 0
for i, key in ipairs(KEYS) do
  local entry = cjson.decode(ARGV[i + 2])
  local rev = entry.revision
  if redis.call('HEXISTS', key, rev) == 0 then
    local lower, higher, oldest = nil, nil, rev
    local revs = redis.call('HKEYS', key)
    for _, r in ipairs(revs) do
      if older(r, rev) then
        if lower == nil or older(lower, r) then lower = r end
      elseif higher == nil or older(r, higher) then
        higher = r
      end
      if older(r, oldest) then oldest = r end
    end
    local prev = nil
    if lower then prev = cjson.decode(redis.call('HGET', key, lower)) end
    if entry.op ~= 'upsert' and prev then
      -- A withdrawal or deletion changes the status only: the content is the revision's before it.
      local hashes = {}
      for name, value in pairs(list(prev.hashes)) do hashes[name] = value end
      hashes.status = entry.hashes.status
      entry.hashes = hashes
      entry.corrections = {}
      for _, id in ipairs(list(prev.correction_ids)) do entry.corrections[#entry.corrections + 1] = {id = id} end
    end
    compare(entry, prev)
    local ids = {}
    for _, c in ipairs(list(entry.corrections)) do ids[#ids + 1] = c.id end
    entry.correction_ids = ids
    entry.corrections = nil
    redis.call('HSET', key, rev, cjson.encode(entry))
    recorded = recorded + 1
    if higher then
      -- A revision recorded after a newer one: the newer one's changes are now against this one.
      local above = cjson.decode(redis.call('HGET', key, higher))
      local changed = {}
      for _, name in ipairs(fields) do
        if list(above.hashes)[name] ~= entry.hashes[name] then changed[#changed + 1] = name end
      end
      above.changed = changed
      local seen = {}
      for _, id in ipairs(ids) do seen[id] = true end
      local added = {}
      for _, c in ipairs(list(above.corrections_added)) do
        if not seen[c.id] then added[#added + 1] = c end
      end
      above.corrections_added = added
      redis.call('HSET', key, higher, cjson.encode(above))
    end
    if #revs + 1 > limit then redis.call('HDEL', key, oldest) end
  end
end
return recorded
"""


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _corrections(doc: dict[str, Any]) -> list[dict[str, Any]]:
    # A correction is the same note whatever time it carries: resent without `at`, its time moves with the
    # update's, and it must not be reported as added again.
    return [
        {"id": _hash([c.get("kind"), c.get("text")]), "kind": c.get("kind"), "text": c.get("text"), "at": c.get("at")}
        for c in doc.get("corrections") or []
    ]


def entry_for(event: ArticleEvent, doc: dict[str, Any], *, applied_at: datetime) -> dict[str, Any]:
    """One revision's entry before the script compares it: the event's facts and the document's hashes."""
    return {
        "revision": str(event.revision),
        "version": str(event.version),
        "op": event.op.value,
        "accepted_at": event.accepted_at.isoformat(),
        "applied_at": applied_at.isoformat(),
        "request_id": event.request_id,
        "hashes": {name: _hash(doc.get(name)) for name in HISTORY_FIELDS},
        "corrections": _corrections(doc),
    }


def applied_entries(
    events: list[ArticleEvent], result: ApplyResult, *, current: dict[str, int], applied_at: datetime
) -> dict[str, Any]:
    """uid -> entry for every revision of the batch Elasticsearch holds now (never an out-of-order one).

    `current` is the revision Elasticsearch holds for each stale uid: a stale event of exactly that revision
    was applied by an earlier delivery of this batch (which may have died before recording it), so it is
    recorded now; the script drops it if it was recorded after all.
    """
    by_uid = {e.uid: e for e in events}
    entries: dict[str, Any] = {}
    for event in by_uid.values():
        uid = event.uid
        applied = uid in result.documents or (uid in result.previous and uid not in result.stale)
        if not applied and current.get(uid) != event.revision:
            continue
        if event.op == Operation.UPSERT:
            doc = result.documents.get(uid) or build_document(event)
        else:
            # Content hashes come from the revision before, in the script: only the status is sent.
            doc = {"status": event.op.status.value}
        entries[uid] = entry_for(event, doc, applied_at=applied_at)
    return entries


def _current_revisions(es: Elasticsearch, names: IndexNames, uids: list[str]) -> dict[str, int]:
    """The revision Elasticsearch holds for each of these articles (its external version)."""
    if not uids:
        return {}
    found = es.mget(index=names.articles, ids=uids, source=False)["docs"]
    return {d["_id"]: int(d["_version"]) for d in found if d.get("found")}


def record_applied(
    *, redis: Redis, es: Elasticsearch, names: IndexNames, prefix: str, events: list[ArticleEvent], result: ApplyResult
) -> int:
    """Append the batch's applied revisions to their articles' histories in one script call."""
    current = _current_revisions(es, names, sorted(set(result.stale)))
    entries = applied_entries(events, result, current=current, applied_at=datetime.now(UTC))
    if not entries:
        return 0
    script = redis.register_script(_RECORD)
    keys = [history_key(prefix, uid) for uid in entries]
    args = [str(HISTORY_LIMIT), json.dumps(HISTORY_FIELDS), *(json.dumps(e) for e in entries.values())]
    recorded = int(script(keys=keys, args=args))
    log.info("history.recorded", articles=len(entries), recorded=recorded)
    return recorded
