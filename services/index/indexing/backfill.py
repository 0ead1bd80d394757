"""Backfill through the real indexing code without the broker: for test fixtures and benchmarks.

The newsroom path (ingest → RabbitMQ → worker) is what production uses; this applies the very same
events with the same indexer, so a loaded index is identical, only faster to build.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from elasticsearch import Elasticsearch

from services.index.indexing.indexer import apply_events
from shared.article import prepare_article
from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.models import ArticleIn
from shared.state import StateStore, revision_for


def upsert_event(article: dict[str, Any] | ArticleIn, *, newsroom: str, version: int = 1) -> ArticleEvent:
    """The upsert event ingest would publish for this native article (raises ValidationError if invalid)."""
    parsed = article if isinstance(article, ArticleIn) else ArticleIn.model_validate(article)
    prepared = prepare_article(newsroom=newsroom, article=parsed, version=version)
    return ArticleEvent(
        op=Operation.UPSERT,
        uid=prepared.uid,
        newsroom=newsroom,
        external_id=prepared.external_id,
        revision=revision_for(version, 1),
        version=version,
        article=prepared,
    )


def apply_in_batches(
    *,
    es: Elasticsearch,
    store: StateStore,
    names: IndexNames,
    events: Iterable[ArticleEvent],
    batch_size: int = 500,
    refresh: bool = True,
) -> int:
    """Apply events in bulk batches; returns how many were applied."""
    batch: list[ArticleEvent] = []
    applied = 0
    for event in events:
        batch.append(event)
        if len(batch) == batch_size:
            applied += len(apply_events(es=es, store=store, names=names, events=batch).upserted)
            batch = []
    if batch:
        applied += len(apply_events(es=es, store=store, names=names, events=batch).upserted)
    if refresh:
        es.indices.refresh(index=names.articles)
    return applied
