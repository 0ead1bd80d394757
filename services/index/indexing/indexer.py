"""Turn article events into Elasticsearch documents and apply them with external versioning.

The document id is the article uid and the external version is Kabar's revision, so a replayed or
out-of-order event is answered with a version conflict by Elasticsearch and is simply a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch, helpers

from services.index import metrics
from services.index.taskbase import TransientIndexError
from shared.article import PreparedArticle
from shared.es import PUBLISHED, IndexNames, is_visible
from shared.events import ArticleChange, ArticleEvent, ChangeKind, Operation
from shared.models import ArticleStatus
from shared.state import StateStore

log = structlog.get_logger()


@dataclass
class ApplyResult:
    """What one batch did: which uids changed how, and which events failed for good."""

    upserted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # What the caches must forget (services/index/edge): each upserted uid's document as indexed, and each
    # removed uid's revision with the document it had before (its path, section, tags and authors).
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    previous: dict[str, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)
    # Changes readers can now see, in the order applied (services/index/notify tells subscribers).
    changes: list[ArticleChange] = field(default_factory=list)
    # Upserts applied under an embargo that has not lifted: uid -> when it lifts (the release scheduler).
    embargoed: dict[str, datetime] = field(default_factory=dict)


def build_document(event: ArticleEvent) -> dict[str, Any]:
    """The searchable document of an upsert: the prepared article as ingest worked it out, mapped."""
    article: PreparedArticle | None = event.article
    assert article is not None, "upsert events carry the article"
    return {
        "uid": event.uid,
        "newsroom": event.newsroom,
        "external_id": event.external_id,
        "status": PUBLISHED,
        "revision": event.revision,
        "version": event.version,
        "title": article.title,
        "title_suggest": {"input": [article.title], "weight": 1},
        "dek": article.dek,
        "body_text": article.body_text,
        "body_html": article.body_html,
        "section": article.section,
        "section_slug": article.section_slug,
        "tags": article.tags,
        "authors": article.authors,
        "byline": article.byline,
        "dateline": article.dateline,
        "language": article.language,
        "source": article.source,
        "slug": article.slug,
        "path": article.path,
        "canonical_url": article.canonical_url,
        "published_at": article.published_at.isoformat(),
        "updated_at": article.updated_at.isoformat() if article.updated_at else None,
        "embargo_until": article.embargo_until.isoformat() if article.embargo_until else None,
        "corrections": [c.model_dump(mode="json") for c in article.corrections],
        "accepted_at": event.accepted_at.isoformat(),
        "indexed_at": datetime.now(UTC).isoformat(),
        "images": [i.model_dump(mode="json") for i in article.images],
        "editor_related": [link.model_dump(exclude_none=True) for link in article.editor_links],
    }


def stamp_corrections(doc: dict[str, Any], *, before: dict[str, Any] | None, event: ArticleEvent) -> dict[str, Any]:
    """Give each note sent without a time the time it first appeared: the same note (kind and text) in the
    document it replaces keeps its time, so resending the whole list never moves an old note; a new one
    gets the update's `updated_at`, else the time ingest accepted it (the same on every redelivery)."""
    if not any(note.get("at") is None for note in doc["corrections"]):
        return doc
    known = {(n.get("kind"), n.get("text")): n.get("at") for n in (before or {}).get("corrections") or []}
    fallback = doc.get("updated_at") or event.accepted_at.isoformat()
    doc["corrections"] = [
        {**note, "at": note.get("at") or known.get((note.get("kind"), note.get("text"))) or fallback}
        for note in doc["corrections"]
    ]
    return doc


def _removal_document(event: ArticleEvent, existing: dict[str, Any] | None) -> dict[str, Any]:
    """Withdraw keeps the content (hidden from readers); delete keeps only a tombstone."""
    if event.op == Operation.WITHDRAW and existing:
        doc = {**existing}
    else:
        keep = ("uid", "newsroom", "external_id", "path", "section", "section_slug", "slug", "title")
        doc = {k: v for k, v in (existing or {}).items() if k in keep}
        doc.update({"uid": event.uid, "newsroom": event.newsroom, "external_id": event.external_id})
        if event.op == Operation.DELETE:
            doc.pop("title", None)
    doc.update(
        {
            "status": event.op.status.value,
            "revision": event.revision,
            "version": event.version,
            "indexed_at": datetime.now(UTC).isoformat(),
        }
    )
    doc.pop("title_suggest", None)
    return doc


def apply_events(*, es: Elasticsearch, store: StateStore, names: IndexNames, events: list[ArticleEvent]) -> ApplyResult:
    """Apply a batch with one bulk request; version conflicts mean a newer revision is already there."""
    result = ApplyResult()
    existing = _existing(es, names, events)
    actions = []
    sources: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.op == Operation.UPSERT:
            source = stamp_corrections(build_document(event), before=existing.get(event.uid), event=event)
        else:
            source = _removal_document(event, existing.get(event.uid))
        sources[event.uid] = source
        actions.append(
            {
                "_op_type": "index",
                "_index": names.articles,
                "_id": event.uid,
                "version": event.revision,
                "version_type": "external",
                "_source": source,
            }
        )
    by_uid = {e.uid: e for e in events}
    applied: list[tuple[str, int, dict[str, Any]]] = []
    now = datetime.now(UTC).isoformat()
    # No refresh=wait_for: it holds every task up to a refresh interval and cut single-article throughput
    # to ~2/s per two processes (measured with bench.freshness). Readers' article pages read in real time
    # (a GET), so a page agrees with the status at once; listings and search follow within the refresh.
    for ok, item in helpers.streaming_bulk(
        es,
        actions,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=3,
        initial_backoff=1,
    ):
        info = item["index"]
        uid = info["_id"]
        event = by_uid[uid]
        if ok:
            if event.op == Operation.UPSERT:
                result.upserted.append(uid)
                result.documents[uid] = sources[uid]
            else:
                result.removed.append(uid)
                result.previous[uid] = (event.revision, existing.get(uid))
            _seen_change(result, event, before=existing.get(uid), after=sources[uid])
            applied.append((uid, event.revision, {"indexed_at": now}))
        elif info.get("status") == 409:
            # Elasticsearch already holds this or a newer revision: a replay or an out-of-order delivery.
            result.stale.append(uid)
            applied.append((uid, event.revision, {}))
        elif info.get("status", 500) >= 500 or info.get("status") == 429:
            raise TransientIndexError(f"bulk item {uid} failed with {info.get('status')}: {info.get('error')}")
        else:
            metrics.ITEM_REJECTIONS.labels(str(info.get("status"))).inc()
            result.failed[uid] = str(info.get("error"))[:500]
            store.mark_failed(uid, event.revision, str(info.get("error")))
    # One Redis round trip for the whole batch instead of one per article.
    store.mark_applied_many(applied)
    for uid, doc in _taken_down(es, names, [by_uid[u] for u in result.stale if by_uid[u].op != Operation.UPSERT]):
        result.removed.append(uid)
        result.previous[uid] = (by_uid[uid].revision, doc)
    log.info(
        "articles.applied",
        upserted=len(result.upserted),
        removed=len(result.removed),
        stale=len(result.stale),
        failed=len(result.failed),
    )
    return result


# What an upsert needs of the document it replaces (a removal keeps a withdrawn article's content: all of it).
_BEFORE_FIELDS = ["status", "embargo_until", "path", "section_slug", "tags", "authors", "title", "corrections"]


def _existing(es: Elasticsearch, names: IndexNames, events: list[ArticleEvent]) -> dict[str, dict[str, Any]]:
    """The documents the batch replaces, in one real-time mget."""
    if not events:
        return {}
    docs = [
        {"_id": e.uid} if e.op != Operation.UPSERT else {"_id": e.uid, "_source": _BEFORE_FIELDS}
        for e in {e.uid: e for e in events}.values()
    ]
    found = es.mget(index=names.articles, docs=docs)
    return {d["_id"]: d["_source"] for d in found["docs"] if d.get("found")}


def _seen_change(
    result: ApplyResult, event: ArticleEvent, *, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    """Record what readers see change, if anything: an embargoed upsert waits for its release instead."""
    now = datetime.now(UTC)
    was_visible = is_visible(before, now)
    if event.op == Operation.UPSERT:
        if not is_visible(after, now):
            result.embargoed[event.uid] = datetime.fromisoformat(after["embargo_until"])
            return
        kind = ChangeKind.UPDATED if was_visible else ChangeKind.PUBLISHED
    elif was_visible:
        kind = ChangeKind.WITHDRAWN if event.op == Operation.WITHDRAW else ChangeKind.DELETED
    elif event.op == Operation.DELETE and before and before.get("status") == ArticleStatus.WITHDRAWN.value:
        kind = ChangeKind.DELETED  # subscribers were told of the withdrawal; now it is gone for good
    else:
        return
    result.changes.append(ArticleChange.of(event, kind, after if event.op == Operation.UPSERT else (before or after)))


def _taken_down(
    es: Elasticsearch, names: IndexNames, stale_removals: list[ArticleEvent]
) -> list[tuple[str, dict[str, Any] | None]]:
    """Stale removals whose article is down now, with what the index keeps of it: a redelivered takedown
    (the worker died after the write, or cutting it from related lists or purging failed) must still
    finish that work, so it is never just 'stale'."""
    if not stale_removals:
        return []
    fields = ["status", "path", "section_slug", "tags", "authors"]
    found = es.mget(index=names.articles, ids=[e.uid for e in stale_removals], source_includes=fields)["docs"]
    return [
        (d["_id"], d.get("_source")) for d in found if not d.get("found") or d["_source"].get("status") != PUBLISHED
    ]
