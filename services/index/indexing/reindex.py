"""Zero-downtime migration of the articles index to the current template.

This Elasticsearch has no `_reindex`, so documents are copied client-side (scan + bulk) with each
document's revision as its external version: a copy can never overwrite a newer write. Readers and
writers keep using the alias, which stays on the old index until one atomic `update_aliases` call
moves it; writes that land in the old index during the copy are picked up by catch-up passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from elasticsearch import Elasticsearch, helpers

from shared.es import IndexLayout, IndexNames, article_template_body

log = structlog.get_logger()

# indexed_at is stamped by the worker before the bulk request; this covers that gap and clock skew.
_CATCH_UP_SLACK = timedelta(seconds=30)


@dataclass
class ReindexResult:
    """What a migration did."""

    old_index: str
    new_index: str
    copied: int = 0
    caught_up: list[int] = field(default_factory=list)
    skipped_stale: int = 0
    deleted_old: bool = False

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def write_index(*, es: Elasticsearch, names: IndexNames) -> str:
    """The concrete index the articles alias writes to."""
    aliases = es.indices.get_alias(name=names.articles)
    for index, body in aliases.items():
        if body["aliases"][names.articles].get("is_write_index"):
            return str(index)
    if len(aliases) == 1:
        return str(next(iter(aliases)))
    raise RuntimeError(f"alias {names.articles} has no write index among {sorted(aliases)}")


def copy_documents(
    *, es: Elasticsearch, source: str, target: str, since: datetime | None = None, chunk_size: int = 500
) -> tuple[int, int]:
    """Copy documents (all, or those indexed since a moment) keeping their external versions.

    Returns (copied, stale): stale copies are ones the target already holds at the same or a newer revision.
    """
    query: dict[str, Any] = {"match_all": {}}
    if since is not None:
        query = {"range": {"indexed_at": {"gte": since.isoformat()}}}
    actions = (
        {
            "_op_type": "index",
            "_index": target,
            "_id": hit["_id"],
            "version": int(hit["_source"].get("revision") or 1),
            "version_type": "external",
            "_source": hit["_source"],
        }
        for hit in helpers.scan(es, index=source, query={"query": query}, size=chunk_size, scroll="5m")
    )
    copied = stale = 0
    for ok, item in helpers.streaming_bulk(
        es, actions, chunk_size=chunk_size, raise_on_error=False, max_retries=3, initial_backoff=1
    ):
        info = item["index"]
        if ok:
            copied += 1
        elif info.get("status") == 409:
            stale += 1
        else:
            raise RuntimeError(f"copy of {info.get('_id')} failed: {info.get('error')}")
    return copied, stale


def reindex(
    *,
    es: Elasticsearch,
    names: IndexNames,
    layout: IndexLayout | None = None,
    delete_old: bool = False,
    chunk_size: int = 500,
) -> ReindexResult:
    """Create a new index from the current template, copy, catch up, swap the alias atomically."""
    # The template is code: put the current one so the new index is built from it (and its shard count
    # from the sizing rule: a reindex is how a grown index gets more primary shards).
    es.indices.put_index_template(name=names.articles_template, **article_template_body(names, layout))
    old = write_index(es=es, names=names)
    new = names.new_articles_index()
    es.indices.create(index=new)
    result = ReindexResult(old_index=old, new_index=new)
    log.info("reindex.started", old_index=old, new_index=new)

    # Nobody reads the new index until the swap, so skip refreshes while copying.
    es.indices.put_settings(index=new, settings={"index": {"refresh_interval": "-1"}})
    started = datetime.now(UTC) - _CATCH_UP_SLACK
    copied, stale = copy_documents(es=es, source=old, target=new, chunk_size=chunk_size)
    result.copied, result.skipped_stale = copied, stale

    # Catch up with writes that reached the old index during the copy, while it still takes them.
    caught_up_from = datetime.now(UTC) - _CATCH_UP_SLACK
    es.indices.refresh(index=old)
    n, s = copy_documents(es=es, source=old, target=new, since=started, chunk_size=chunk_size)
    result.caught_up.append(n)
    result.skipped_stale += s

    es.indices.put_settings(index=new, settings={"index": {"refresh_interval": "1s"}})
    es.indices.refresh(index=new)
    es.cluster.health(index=new, wait_for_status="yellow", timeout="30s")
    # One call, so every search sees exactly one of the two indices and writes never go nowhere.
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": old, "alias": names.articles}},
            {"add": {"index": new, "alias": names.articles, "is_write_index": True}},
        ]
    )
    log.info("reindex.swapped", old_index=old, new_index=new)

    # Writes that were in flight to the old index while the alias moved.
    es.indices.refresh(index=old)
    n, s = copy_documents(es=es, source=old, target=new, since=caught_up_from, chunk_size=chunk_size)
    result.caught_up.append(n)
    result.skipped_stale += s

    if delete_old:
        es.indices.delete(index=old)
        result.deleted_old = True
    log.info("reindex.finished", **result.as_dict())
    return result
