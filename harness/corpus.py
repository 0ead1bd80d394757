"""Corpus replay for tests and benches: valid articles, fresh external ids, and the events ingest would send."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from services.index.indexing.backfill import upsert_event
from shared import corpora
from shared.events import ArticleEvent
from shared.models import ArticleIn

# The one builder of an article's upsert event, shared with backfills (services cannot import the harness).
__all__ = ["replay", "replay_events", "upsert_event", "valid_articles"]


def valid_articles(
    spec: str = "all", *, limit: int | None = None, max_body_chars: int | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` corpus articles (native dicts, read by path) that ingest accepts."""
    valid: list[dict[str, Any]] = []
    for raw in corpora.load(spec, corpora.raw_dir()):
        try:
            article = ArticleIn.model_validate(raw)
        except ValidationError:
            continue
        body = sum(len(p) for p in article.body_paragraphs or []) + len(article.body or "")
        if max_body_chars is None or body <= max_body_chars:
            valid.append(raw)
        if limit is not None and len(valid) >= limit:
            break
    if not valid:
        raise SystemExit(f"no valid articles in corpus {spec!r} under {corpora.raw_dir()}")
    return valid


def replay(spec: str = "all", *, tag: str, limit: int | None = None, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Valid corpus articles with fresh external ids `{tag}-{n}`, without end (round the corpus again)."""
    pool = valid_articles(spec, limit=limit)
    for n in itertools.count():
        src = pool[(offset + n) % len(pool)]
        yield {**src, "external_id": f"{tag}-{n:07d}", "note": f"replay of {src['external_id']}"[:2000]}


def replay_events(count: int, *, spec: str = "all", newsroom: str, tag: str) -> list[ArticleEvent]:
    """`count` upsert events for the corpus replayed with fresh ids, as ingest would publish them."""
    return [upsert_event(article, newsroom=newsroom) for article in itertools.islice(replay(spec, tag=tag), count)]
