"""Comment counts in Elasticsearch: absolute numbers read from PostgreSQL, versioned by when they were read.

Each count document is written with `version_type=external` and the read time in microseconds, so a count read
earlier never overwrites one read later, whichever worker writes last (Elasticsearch answers 409, which is
fine). An article without shown comments has no document: lists treat a missing one as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from services.index.taskbase import TransientIndexError
from shared.comments.store import ThreadCount
from shared.es import IndexNames

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CountWriteError(Exception):
    """Elasticsearch refused a count document for good (a mapping or request error): the task fails."""


def count_version(read_at: datetime) -> int:
    """The external version of a count: its read time in whole microseconds (exact, no float rounding)."""
    return (read_at - _EPOCH) // timedelta(microseconds=1)


def write_counts(*, es: Elasticsearch, names: IndexNames, counts: Mapping[str, ThreadCount]) -> int:
    """Index each article's count, or delete its document at 0, in one bulk request; returns the writes applied."""
    operations: list[dict[str, Any]] = []
    for uid, thread in counts.items():
        meta = {
            "_index": names.comment_counts,
            "_id": uid,
            "version": count_version(thread.read_at),
            "version_type": "external",
        }
        if thread.count and thread.last_at is not None:
            operations.append({"index": meta})
            operations.append(
                {"newsroom": thread.newsroom, "count": thread.count, "last_comment_at": thread.last_at.isoformat()}
            )
        else:
            operations.append({"delete": meta})
    if not operations:
        return 0
    applied = 0
    for item in es.bulk(operations=operations)["items"]:
        ((action, info),) = item.items()
        status = int(info.get("status", 500))
        if status < 300:
            applied += 1
        elif status == 409 or (action == "delete" and status == 404):
            continue  # a newer count is there already, or there was nothing to delete
        elif status >= 500 or status == 429:
            raise TransientIndexError(f"count of {info.get('_id')} failed with {status}")
        else:
            raise CountWriteError(f"count of {info.get('_id')} refused with {status}: {str(info.get('error'))[:300]}")
    return applied
