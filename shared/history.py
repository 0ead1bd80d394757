"""An article's revision history, as the newsroom reads it: one entry per revision a worker applied.

The index worker writes it (services/index/indexing/history.py) and ingest reads it for
GET /v1/articles/{external_id}/history; this module is the one place that knows how it is stored.

Storage: a Redis hash `{prefix}:history:{uid}`, field = the revision as a decimal string (revisions reach
2**63, past what a sorted-set score or a Lua number holds exactly), value = the entry as JSON. It never
expires: a withdrawn or deleted article keeps its history, which is the newsroom's audit trail.
"""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

# The newest entries kept per article; older ones are dropped as new ones arrive.
HISTORY_LIMIT = 100

# What an entry says changed, compared with the revision applied before it (by per-field hashes).
# `status` is there so a withdrawal or deletion shows as what it is: the content did not change.
HISTORY_FIELDS: tuple[str, ...] = (
    "title",
    "dek",
    "body_text",
    "section",
    "tags",
    "authors",
    "images",
    "canonical_url",
    "published_at",
    "embargo_until",
    "corrections",
    "status",
)

# What `changed` says of an article's first recorded revision.
CREATED = "created"


def history_key(prefix: str, uid: str) -> str:
    return f"{prefix}:history:{uid}"


def _listed(value: Any) -> list[Any]:
    # Redis's Lua cjson writes an empty table as {}: every list field of an entry reads back as a list.
    return value if isinstance(value, list) else []


def read_history(*, redis: Redis, prefix: str, uid: str) -> list[dict[str, Any]]:
    """An article's recorded revisions, newest first (empty when none was recorded)."""
    raw = redis.hgetall(history_key(prefix, uid))
    entries = []
    for value in raw.values():
        entry = json.loads(value)
        entry["changed"] = _listed(entry.get("changed"))
        entry["corrections_added"] = _listed(entry.get("corrections_added"))
        entry.pop("hashes", None)
        entry.pop("correction_ids", None)
        entries.append(entry)
    return sorted(entries, key=lambda e: int(e["revision"]), reverse=True)
