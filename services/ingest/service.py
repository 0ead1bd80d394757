"""Ingest business logic: normalise, check versions, hand off durably, then record state."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import structlog

from services.ingest.publisher import EventPublisher
from services.ingest.schemas import AcceptedArticle
from shared.errors import Conflict
from shared.events import ArticleEvent, Operation
from shared.models import ArticleIn, ArticlePayload, RelatedRef, article_path, article_uid
from shared.state import StateStore
from shared.text import body_to_safe_html

log = structlog.get_logger()


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


def accept_article(
    *, store: StateStore, publisher: EventPublisher, newsroom: str, article: ArticleIn, request_id: str | None = None
) -> AcceptedArticle:
    """Accept a create-or-replace; replays answer `unchanged`, stale versions 409, never a lost write."""
    uid = article_uid(newsroom, article.external_id)
    state = store.get(uid)
    version = article.version or (state.version + 1 if state.exists else 1)
    payload = normalise(newsroom=newsroom, article=article, version=version)
    if state.exists and state.fields.get("op") == Operation.UPSERT:
        if version < state.version:
            raise Conflict(
                f"Version {version} is older than the stored version {state.version}; nothing was changed.",
                extra={"stored_version": state.version},
            )
        if state.fields.get("content_hash") == payload.content_hash and (
            article.version is None or version == state.version
        ):
            return _answer(state_uid=uid, article=payload, store=store, result="unchanged")
        if version == state.version:
            raise Conflict(
                f"Version {version} was already accepted with different content; send a higher version.",
                extra={"stored_version": state.version},
            )
    revision = store.reserve_revision(uid)
    event = ArticleEvent(
        op=Operation.UPSERT,
        uid=uid,
        newsroom=newsroom,
        external_id=article.external_id,
        revision=revision,
        version=version,
        article=payload,
        request_id=request_id,
    )
    publisher.publish([event])
    store.commit(
        uid,
        revision,
        op=Operation.UPSERT.value,
        version=version,
        content_hash=payload.content_hash,
        newsroom=newsroom,
        external_id=article.external_id,
        title=payload.title,
        accepted_at=event.accepted_at.isoformat(),
        path=article_path(uid=uid, title=payload.title, section=payload.section, published_at=payload.published_at),
    )
    log.info("article.accepted", article_id=uid, revision=revision, version=version)
    return _answer(state_uid=uid, article=payload, store=store, result="accepted")


def _answer(*, state_uid: str, article: ArticlePayload, store: StateStore, result: str) -> AcceptedArticle:
    state = store.get(state_uid)
    return AcceptedArticle(
        result=result,  # type: ignore[arg-type]
        uid=state_uid,
        external_id=article.external_id,
        version=state.version,
        revision=state.revision,
        status=state.status or "accepted",
        url=state.fields.get("path"),
    )
