"""Fixtures for the index service: an event factory and a producer that sends tasks by name, like ingest."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery import Celery
from elasticsearch import Elasticsearch

from services.publish.search import SearchParams, build_request
from shared.article import prepare
from shared.es import IndexNames
from shared.events import ArticleEvent, Operation
from shared.messaging import TASK_INDEX_EVENTS, Queues, celery_config
from shared.models import ArticlePayload, RelatedRef, article_uid
from shared.text import body_to_safe_html

NEWSROOM = "itest"
EventFactory = Callable[..., ArticleEvent]


def make_event(
    external_id: str,
    *,
    title: str = "Judul",
    paragraphs: list[str] | None = None,
    revision: int = 1,
    op: Operation = Operation.UPSERT,
    published_at: datetime | None = None,
    section: str = "Nasional",
    tags: list[str] | None = None,
    related_titles: list[str] | None = None,
) -> ArticleEvent:
    """One event as ingest would emit it (revision doubles as version)."""
    uid = article_uid(NEWSROOM, external_id)
    article = None
    if op == Operation.UPSERT:
        # A normalised payload prepared as ingest prepares it: the V2 event ingest sends.
        article = prepare(
            ArticlePayload(
                uid=uid,
                newsroom=NEWSROOM,
                external_id=external_id,
                title=title,
                body_html=body_to_safe_html(body=None, paragraphs=paragraphs or [title]),
                section=section,
                tags=tags or [],
                published_at=published_at or datetime.now(UTC),
                related=[RelatedRef(title=t) for t in related_titles or []],
                version=revision,
                content_hash=uuid.uuid4().hex,
            )
        )
    return ArticleEvent(
        op=op, uid=uid, newsroom=NEWSROOM, external_id=external_id, revision=revision, version=revision, article=article
    )


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def producer(prefix: str, settings: Any) -> Iterator[Callable[..., None]]:
    """Send events as one apply_events task by name, waiting for the broker's confirm."""
    app = Celery("itest-producer", set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))

    def send(events: list[ArticleEvent] | list[dict[str, Any]], **kwargs: Any) -> None:
        payload = [e.model_dump(mode="json") if isinstance(e, ArticleEvent) else e for e in events]
        app.send_task(TASK_INDEX_EVENTS, kwargs={"events": payload, **kwargs}, queue=Queues(prefix).index)

    yield send
    app.close()


def get_doc(es: Elasticsearch, names: IndexNames, uid: str) -> dict[str, Any] | None:
    resp = es.options(ignore_status=404).get(index=names.articles, id=uid)
    return resp["_source"] if resp.get("found") else None


def related_uids(es: Elasticsearch, names: IndexNames, uid: str) -> list[str] | None:
    resp = es.options(ignore_status=404).get(index=names.related, id=uid)
    return resp["_source"]["related_uids"] if resp.get("found") else None


def searchable_uids(es: Elasticsearch, names: IndexNames, text: str) -> list[str]:
    """What a reader's search returns: publish's own request (published articles only, stemmed matching)."""
    es.indices.refresh(index=names.articles)
    body = build_request(SearchParams(q=text, size=50))
    return [h["_id"] for h in es.search(index=names.articles, body=body)["hits"]["hits"]]
