"""Newsroom API routes: validate, call one service function, return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.ingest import service
from services.ingest.deps import (
    AuthenticatedRoute,
    NewsroomDep,
    RedisDep,
    SettingsDep,
    StoreDep,
    Write,
    WriteDep,
)
from services.ingest.idempotency import Outcome, run_idempotent
from services.ingest.ninjs import NinjsIn
from services.ingest.ratelimit import take_articles
from services.ingest.schemas import (
    EXAMPLE_ARTICLE,
    AcceptedArticle,
    ArticleHistoryOut,
    ArticlePut,
    ArticleStateOut,
    BulkResult,
    NinjsAccepted,
)
from shared.errors import PROBLEM_JSON, KabarError
from shared.events import Operation
from shared.models import ArticleIn
from shared.observability import INGEST_RESULTS

router = APIRouter(prefix="/v1", tags=["articles"], route_class=AuthenticatedRoute)

_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}},
        },
    },
}
_PROBLEM = {"content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A replay: nothing changed."},
    401: {**_PROBLEM, "description": "Missing or unknown API key."},
    404: {**_PROBLEM, "description": "No such article for this newsroom."},
    409: {
        **_PROBLEM,
        "description": "An older version than the stored one (see stored_version), or an id held by another newsroom.",
    },
    413: {**_PROBLEM, "description": "The request is larger than the limit."},
    422: {**_PROBLEM, "description": "Invalid fields, each with a JSON pointer."},
    429: {**_PROBLEM, "description": "Rate limit exceeded; see Retry-After."},
    503: {**_PROBLEM, "description": "The broker did not confirm; nothing changed. See Retry-After."},
}
ArticleBody = Annotated[
    ArticleIn, Body(openapi_examples={"article": {"summary": "A news story", "value": EXAMPLE_ARTICLE}})
]


_OUTCOMES = {503: "unavailable", 429: "rate_limited"}


def _count(body: dict[str, Any]) -> None:
    """Ingest outcomes for Prometheus: per item for bulk answers, else the one write's result."""
    if "items" in body:
        for kind in ("accepted", "unchanged", "rejected"):
            INGEST_RESULTS.labels(kind).inc(body.get(kind, 0))
    elif body.get("result"):
        INGEST_RESULTS.labels(body["result"]).inc()


def _respond(
    write: Write, action: Callable[[], BaseModel], status: Callable[[Any], int], *, articles: int = 1
) -> JSONResponse:
    """Run a write once per Idempotency-Key and answer with its stored or fresh outcome.

    The write's articles count against the newsroom's article budget; a replay does no work and takes none.
    """

    def run() -> Outcome:
        take_articles(
            redis=write.redis,
            prefix=write.settings.prefix,
            newsroom=write.newsroom,
            articles=articles,
            per_minute=write.settings.article_limit_per_minute,
        )
        answer = action()
        return Outcome(status=status(answer), body=answer.model_dump(mode="json", exclude_none=True))

    try:
        outcome = run_idempotent(
            redis=write.redis,
            prefix=write.settings.prefix,
            newsroom=write.newsroom,
            key=write.idempotency_key,
            method_path=write.method_path,
            body=write.body,
            ttl=write.settings.idempotency_ttl_seconds,
            max_answer_bytes=write.settings.idempotency_max_answer_bytes,
            max_newsroom_bytes=write.settings.idempotency_max_bytes_per_newsroom,
            action=run,
        )
    except KabarError as exc:
        INGEST_RESULTS.labels(_OUTCOMES.get(exc.status, "rejected")).inc()
        raise
    _count(outcome.body)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def _accepted_status(answer: AcceptedArticle | NinjsAccepted) -> int:
    return 200 if answer.result == "unchanged" else 202


def _clients(write: Write) -> dict[str, Any]:
    return {
        "store": write.store,
        "publisher": write.publisher,
        "settings": write.settings,
        "newsroom": write.newsroom,
        "request_id": write.request_id,
    }


@router.post("/articles", status_code=202, response_model=AcceptedArticle, responses=WRITE_RESPONSES)
def create_article(article: ArticleBody, write: WriteDep) -> JSONResponse:
    """Create or replace an article (keyed by newsroom + external_id); 202 once RabbitMQ confirmed it."""
    return _respond(write, lambda: service.accept_article(**_clients(write), article=article), _accepted_status)


_BULK_BODY = {
    "requestBody": {
        "required": True,
        "description": "A JSON array of native articles, or NDJSON (application/x-ndjson): one article a line.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/ArticleIn"}},
                "example": [EXAMPLE_ARTICLE],
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/articles:bulk",
    status_code=202,
    response_model=BulkResult,
    responses=WRITE_RESPONSES,
    openapi_extra=_BULK_BODY,
    summary="Create or replace many articles",
)
@router.post("/articles/bulk", include_in_schema=False)
def bulk_articles(write: WriteDep, content_type: Annotated[str, Header()] = "application/json") -> JSONResponse:
    """Per-item results in request order; every accepted article travels in one confirmed message.

    Rejected items carry a problem with JSON pointers `/{index}/{field}` into the array (or NDJSON line).
    The answer is 202 when at least one article was accepted, else 200.
    """
    items = service.parse_bulk(body=write.body, content_type=content_type, max_items=write.settings.max_bulk_items)
    return _respond(
        write,
        lambda: service.accept_bulk(**_clients(write), items=items),
        lambda result: 202 if result.accepted else 200,
        articles=len(items),
    )


@router.post("/ninjs", status_code=202, response_model=NinjsAccepted, responses=WRITE_RESPONSES, tags=["ninjs"])
def ninjs_item(document: NinjsIn, write: WriteDep) -> JSONResponse:
    """An IPTC ninjs 2.x item (application/json or application/ninjs+json), keyed on `uri`.

    pubstatus `usable` creates or replaces, `withheld` unpublishes, `canceled` deletes. Unknown ninjs
    properties are ignored and listed in `ignored`.
    """
    return _respond(write, lambda: service.accept_ninjs(**_clients(write), document=document), _accepted_status)


@router.post(
    "/articles/{external_id:path}/unpublish",
    status_code=202,
    response_model=AcceptedArticle,
    responses=WRITE_RESPONSES,
)
def unpublish_article(external_id: str, write: WriteDep) -> JSONResponse:
    """Withdraw an article from readers; the newsroom keeps it and can republish with a new version."""
    return _respond(
        write,
        lambda: service.remove_article(**_clients(write), external_id=external_id, op=Operation.WITHDRAW),
        _accepted_status,
    )


@router.put("/articles/{external_id:path}", status_code=202, response_model=AcceptedArticle, responses=WRITE_RESPONSES)
def put_article(external_id: str, article: ArticlePut, write: WriteDep) -> JSONResponse:
    """Create or replace the article with this external id; a body external_id must match or be omitted."""
    return _respond(
        write,
        lambda: service.put_article(**_clients(write), external_id=external_id, article=article),
        _accepted_status,
    )


@router.delete(
    "/articles/{external_id:path}", status_code=202, response_model=AcceptedArticle, responses=WRITE_RESPONSES
)
def delete_article(external_id: str, write: WriteDep) -> JSONResponse:
    """Kill an article: removed from readers and search everywhere; only a tombstone state remains."""
    return _respond(
        write,
        lambda: service.remove_article(**_clients(write), external_id=external_id, op=Operation.DELETE),
        _accepted_status,
    )


# Before GET /articles/{external_id:path}, which would otherwise take ".../history" as part of the id.
@router.get(
    "/articles/{external_id:path}/history",
    response_model=ArticleHistoryOut,
    responses={k: WRITE_RESPONSES[k] for k in (401, 404, 429)},
)
def article_history(
    external_id: str, newsroom: NewsroomDep, store: StoreDep, redis: RedisDep, settings: SettingsDep
) -> ArticleHistoryOut:
    """Every revision a worker applied to one of this newsroom's articles, newest first, with what it changed."""
    return service.article_history(
        redis=redis, store=store, prefix=settings.prefix, newsroom=newsroom.id, external_id=external_id
    )


@router.get("/articles/{external_id:path}", response_model=ArticleStateOut, responses=WRITE_RESPONSES)
def get_article(external_id: str, newsroom: NewsroomDep, store: StoreDep, settings: SettingsDep) -> ArticleStateOut:
    """The stored state of one of this newsroom's articles: version, status, timestamps, public URL."""
    return service.get_article(store=store, settings=settings, newsroom=newsroom.id, external_id=external_id)
