"""Newsroom article → Kabar payload: the one normalisation ingest and every backfill path share."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from shared.models import ArticleIn, ArticlePayload, RelatedRef, article_uid
from shared.text import body_to_safe_html


def normalise(*, newsroom: str, article: ArticleIn, version: int) -> ArticlePayload:
    """The newsroom's article as Kabar's payload: sanitised HTML, aware dates, merged related refs."""
    body_html = body_to_safe_html(body=article.body, paragraphs=article.body_paragraphs)
    related = list(article.related) + [RelatedRef(title=t) for t in article.editor_related_titles]
    fields = article.model_dump(
        mode="json", exclude={"body", "body_paragraphs", "related", "editor_related_titles", "version", "note"}
    )
    content_hash = hashlib.sha256(
        json.dumps(
            {**fields, "body_html": body_html, "related": [r.model_dump() for r in related]},
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    return ArticlePayload(
        **{
            **fields,
            "published_at": article.published_at or datetime.now(UTC),
            "canonical_url": str(article.canonical_url) if article.canonical_url else None,
        },
        uid=article_uid(newsroom, article.external_id),
        newsroom=newsroom,
        body_html=body_html,
        related=related,
        version=version,
        content_hash=content_hash,
    )
