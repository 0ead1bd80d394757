"""Ingest business logic: normalise, check versions, hand off durably, then record state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from redis import Redis

from services.ingest import ninjs
from services.ingest.config import IngestSettings
from services.ingest.ninjs import NinjsIn
from services.ingest.publisher import EventPublisher
from services.ingest.schemas import (
    AcceptedArticle,
    ArticleHistoryOut,
    ArticlePut,
    ArticleStateOut,
    BulkItemResult,
    BulkResult,
    HistoryEntry,
    ItemProblem,
    NinjsAccepted,
)
from shared.article import PreparedArticle, normalise, prepare
from shared.errors import (
    Conflict,
    Gone,
    KabarError,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    json_pointer,
    problem_type,
)
from shared.events import ArticleEvent, Operation
from shared.history import read_history
from shared.models import MAX_VERSION, ArticleIn, ArticleStatus, article_uid
from shared.state import ArticleState, StateStore

log = structlog.get_logger()


def check_body_size(*, article: ArticleIn, max_body_chars: int) -> None:
    """Refuse bodies longer than the configured limit (422 pointing at the body)."""
    size = len(article.body or "") + sum(len(p) for p in article.body_paragraphs or [])
    if size > max_body_chars:
        pointer = "/body" if article.body else "/body_paragraphs"
        raise Unprocessable(
            f"The body has {size} characters; the limit is {max_body_chars}.",
            extra={"errors": [{"pointer": pointer, "detail": f"at most {max_body_chars} characters"}]},
        )


def public_url(*, site_url: str, path: str | None) -> str | None:
    return f"{site_url.rstrip('/')}{path}" if path else None


@dataclass(frozen=True)
class _Plan:
    """A write that passed the version checks: what to publish and commit."""

    uid: str
    version: int
    article: PreparedArticle


def _plan(*, state: ArticleState, newsroom: str, article: ArticleIn) -> _Plan | None:
    """Decide a create-or-replace against the stored state: None means a replay (unchanged), or 409."""
    # The uid is a 64-bit hash of (newsroom, external id): refuse to overwrite another newsroom's
    # article should two ever collide, as takedowns already do. Checked first, so nothing about the
    # stored article (its version) is revealed.
    if state.exists and state.fields.get("newsroom") != newsroom:
        raise Conflict("This external_id maps to an article id held by another newsroom; use another external_id.")
    version = article.version or (state.version + 1 if state.exists else 1)
    payload = normalise(newsroom=newsroom, article=article, version=version)
    if state.exists and version < state.version:
        raise Conflict(
            f"Version {version} is older than the stored version {state.version}; nothing was changed.",
            extra={"stored_version": state.version},
        )
    # A write that failed in the workers is sent again when the newsroom repeats it, never `unchanged`.
    if state.exists and state.fields.get("op") == Operation.UPSERT and state.status != ArticleStatus.FAILED:
        if state.fields.get("content_hash") == payload.content_hash and (
            article.version is None or version == state.version
        ):
            return None
        if version == state.version:
            raise Conflict(
                f"Version {version} was already accepted with different content; send a higher version.",
                extra={"stored_version": state.version},
            )
    # Prepared only now: a replay, answered `unchanged` above, costs the sanitiser and a hash, no more.
    prepared = prepare(payload)
    if not prepared.title:
        raise Unprocessable(
            "The title has no text once its markup is removed.",
            extra={"errors": [{"pointer": "/title", "detail": "needs text outside tags"}]},
        )
    return _Plan(uid=state.uid, version=version, article=prepared)


def _upsert_event(*, plan: _Plan, revision: int, request_id: str | None) -> ArticleEvent:
    return ArticleEvent(
        op=Operation.UPSERT,
        uid=plan.uid,
        newsroom=plan.article.newsroom,
        external_id=plan.article.external_id,
        revision=revision,
        version=plan.version,
        article=plan.article,
        request_id=request_id,
    )


def _upsert_fields(event: ArticleEvent) -> dict[str, Any]:
    article = event.article
    assert article is not None
    # The title and path the index will hold, from the same prepared article: the URL answered now is
    # the one the page answers 200 on.
    return {
        "op": Operation.UPSERT.value,
        "version": event.version,
        "content_hash": article.content_hash,
        "newsroom": event.newsroom,
        "external_id": event.external_id,
        "title": article.title,
        "accepted_at": event.accepted_at.isoformat(),
        "path": article.path,
        # Kept with the revision so the state API says `scheduled` until it lifts ("": none, clears an old one).
        "embargo_until": article.embargo_until.isoformat() if article.embargo_until else "",
    }


def accept_article(
    *,
    store: StateStore,
    publisher: EventPublisher,
    settings: IngestSettings,
    newsroom: str,
    article: ArticleIn,
    request_id: str | None = None,
) -> AcceptedArticle:
    """Accept a create-or-replace; replays answer `unchanged`, stale versions 409, never a lost write."""
    check_body_size(article=article, max_body_chars=settings.max_body_chars)
    uid = article_uid(newsroom, article.external_id)
    plan = _plan(state=store.get(uid), newsroom=newsroom, article=article)
    if plan is None:
        return _answer(uid=uid, store=store, settings=settings, result="unchanged")
    revision = store.reserve_revision(uid, plan.version)
    event = _upsert_event(plan=plan, revision=revision, request_id=request_id)
    # Everything derived before the message is queued: nothing may fail after a 2xx-bound publish.
    fields = _upsert_fields(event)
    publisher.publish([event])
    store.commit(uid, revision, **fields)
    log.info("article.accepted", article_id=uid, revision=revision, version=plan.version)
    # Answered from what was just committed: one Redis round trip fewer on the hot path.
    return AcceptedArticle(
        result="accepted",
        uid=uid,
        external_id=article.external_id,
        version=plan.version,
        revision=revision,
        status=ArticleStatus.ACCEPTED,
        url=public_url(site_url=settings.site_url, path=fields["path"]),
    )


def put_article(
    *,
    store: StateStore,
    publisher: EventPublisher,
    settings: IngestSettings,
    newsroom: str,
    external_id: str,
    article: ArticlePut,
    request_id: str | None = None,
) -> AcceptedArticle:
    """Create or replace the article at this path; a body external_id must match the path."""
    if article.external_id is not None and article.external_id != external_id:
        raise Unprocessable(
            "The body's external_id differs from the one in the URL.",
            extra={"errors": [{"pointer": "/external_id", "detail": f"must be {external_id!r} or omitted"}]},
        )
    try:
        native = ArticleIn.model_validate({**article.model_dump(exclude_unset=True), "external_id": external_id})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    return accept_article(
        store=store, publisher=publisher, settings=settings, newsroom=newsroom, article=native, request_id=request_id
    )


def _loads(text: str, where: str) -> Any:
    """JSON from the client: malformed or too deeply nested documents are a 400, never a 500."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f" (line {exc.lineno})" if exc.lineno > 1 or "\n" in text else ""
        raise KabarError(f"{where} is not valid JSON: {exc.msg}{at}.") from exc
    except RecursionError as exc:
        # The decoder recurses once per nesting level; no article is nested anywhere near this deep.
        raise KabarError(f"{where} is nested too deeply.") from exc


def parse_bulk(*, body: bytes, content_type: str, max_items: int) -> list[Any]:
    """The items of a bulk body: NDJSON (one article a line) or a JSON array."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KabarError("The request body is not valid UTF-8.") from exc
    ndjson = content_type.split(";")[0].strip().lower() in {"application/x-ndjson", "application/jsonl"}
    if not ndjson:
        items = _loads(text, "The request body")
    else:
        items = [
            _loads(line, f"Line {number} of the NDJSON body")
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    if not isinstance(items, list):
        raise Unprocessable(
            "A bulk body is a JSON array of articles (or NDJSON).",
            extra={"errors": [{"pointer": "", "detail": "expected an array"}]},
        )
    if not items:
        raise Unprocessable("A bulk request needs at least one article.")
    if len(items) > max_items:
        raise PayloadTooLarge(f"{len(items)} articles in one request; the limit is {max_items}.")
    return items


def _rejection(index: int, exc: Exception, external_id: str | None = None) -> BulkItemResult:
    if isinstance(exc, ValidationError | RequestValidationError):
        errors = [
            {"pointer": f"/{index}" + json_pointer(e.get("loc", ())), "detail": str(e.get("msg"))} for e in exc.errors()
        ]
        problem = ItemProblem(
            type=problem_type("validation-error"),
            title="Unprocessable content",
            status=422,
            detail="The article has invalid fields.",
            errors=errors,  # type: ignore[arg-type]
        )
    else:
        assert isinstance(exc, KabarError)
        errors = [{**e, "pointer": f"/{index}{e['pointer']}"} for e in exc.extra.get("errors", [])]
        problem = ItemProblem(
            type=problem_type(exc.type_slug),
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            errors=errors,  # type: ignore[arg-type]
            stored_version=exc.extra.get("stored_version"),
        )
    return BulkItemResult(index=index, result="rejected", external_id=external_id, problem=problem)


def accept_bulk(
    *,
    store: StateStore,
    publisher: EventPublisher,
    settings: IngestSettings,
    newsroom: str,
    items: list[Any],
    request_id: str | None = None,
) -> BulkResult:
    """Accept many articles: per-item answers, and every accepted event in one confirmed message."""
    results: dict[int, BulkItemResult] = {}
    valid: dict[int, ArticleIn] = {}
    seen: set[str] = set()
    for i, raw in enumerate(items):
        try:
            article = ArticleIn.model_validate(raw)
            check_body_size(article=article, max_body_chars=settings.max_body_chars)
            if article.external_id in seen:
                raise Conflict("The same external_id appears earlier in this request; send it once.")
            seen.add(article.external_id)
            valid[i] = article
        except (ValidationError, KabarError) as exc:
            external_id = raw.get("external_id") if isinstance(raw, dict) else None
            results[i] = _rejection(i, exc, external_id if isinstance(external_id, str) else None)
    uids = {i: article_uid(newsroom, a.external_id) for i, a in valid.items()}
    states = dict(zip(uids, store.get_many(list(uids.values())), strict=True))
    plans: dict[int, _Plan] = {}
    for i, article in valid.items():
        try:
            plan = _plan(state=states[i], newsroom=newsroom, article=article)
        except KabarError as exc:
            results[i] = _rejection(i, exc, article.external_id)
            continue
        if plan is None:
            state = states[i]
            results[i] = BulkItemResult(
                index=i,
                result="unchanged",
                external_id=article.external_id,
                uid=state.uid,
                version=state.version,
                revision=state.revision,
                status=state.status,
            )
        else:
            plans[i] = plan
    if plans:
        revisions = store.reserve_revisions([(p.uid, p.version) for p in plans.values()])
        events = [
            _upsert_event(plan=plan, revision=rev, request_id=request_id)
            for plan, rev in zip(plans.values(), revisions, strict=True)
        ]
        commits = [(e.uid, e.revision, _upsert_fields(e)) for e in events]
        publisher.publish(events)
        store.commit_many(commits)
        for i, event in zip(plans, events, strict=True):
            results[i] = BulkItemResult(
                index=i,
                result="accepted",
                external_id=event.external_id,
                uid=event.uid,
                version=event.version,
                revision=event.revision,
                status=ArticleStatus.ACCEPTED,
            )
    ordered = [results[i] for i in range(len(items))]
    counts = {kind: sum(r.result == kind for r in ordered) for kind in ("accepted", "unchanged", "rejected")}
    log.info("articles.bulk_accepted", newsroom=newsroom, **counts)
    return BulkResult(
        items=ordered, accepted=counts["accepted"], unchanged=counts["unchanged"], rejected=counts["rejected"]
    )


def remove_article(
    *,
    store: StateStore,
    publisher: EventPublisher,
    settings: IngestSettings,
    newsroom: str,
    external_id: str,
    op: Operation,
    version: int | None = None,
    request_id: str | None = None,
) -> AcceptedArticle:
    """Withdraw (hide from readers, keep for the newsroom) or delete (remove everywhere) an article."""
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise Unprocessable(
            f"Version {version} is out of range.",
            extra={"errors": [{"pointer": "/version", "detail": f"between 1 and {MAX_VERSION}"}]},
        )
    uid = article_uid(newsroom, external_id)
    state = store.get(uid)
    if not state.exists or state.fields.get("newsroom") != newsroom:
        raise NotFound(f"No article {external_id!r} for this newsroom.")
    if version is not None and version < state.version:
        raise Conflict(
            f"Version {version} is older than the stored version {state.version}; nothing was changed.",
            extra={"stored_version": state.version},
        )
    current = state.fields.get("op")
    # Repeating a takedown that failed in the workers sends it again; only a pending or applied one is
    # `unchanged`.
    if current == op.value and state.status != ArticleStatus.FAILED:
        return _answer(uid=uid, store=store, settings=settings, result="unchanged")
    if current == Operation.DELETE and op != Operation.DELETE:
        raise Gone(f"Article {external_id!r} was deleted; it can no longer be withdrawn.")
    version = max(version or 0, state.version, 1)
    revision = store.reserve_revision(uid, version)
    event = ArticleEvent(
        op=op,
        uid=uid,
        newsroom=newsroom,
        external_id=external_id,
        revision=revision,
        version=version,
        request_id=request_id,
    )
    now = datetime.now(UTC).isoformat()
    fields = {
        "op": op.value,
        "version": event.version,
        "accepted_at": event.accepted_at.isoformat(),
        ("withdrawn_at" if op == Operation.WITHDRAW else "deleted_at"): now,
        "embargo_until": "",  # a takedown cancels any embargo release
    }
    publisher.publish([event])
    store.commit(uid, revision, **fields)
    log.info(f"article.{op.value}_accepted", article_id=uid, revision=revision)
    return _answer(uid=uid, store=store, settings=settings, result="accepted")


def get_article(*, store: StateStore, settings: IngestSettings, newsroom: str, external_id: str) -> ArticleStateOut:
    """The stored state of one of this newsroom's articles; another newsroom's id is simply not found."""
    state = store.get(article_uid(newsroom, external_id))
    if not state.exists or state.fields.get("newsroom") != newsroom:
        raise NotFound(f"No article {external_id!r} for this newsroom.")
    fields = state.as_dict()
    path = fields.pop("path", None)
    if state.status != ArticleStatus.FAILED:
        fields.pop("error", None)
    url = public_url(site_url=settings.site_url, path=path) if state.status == ArticleStatus.PUBLISHED else None
    return ArticleStateOut.model_validate({**fields, "url": url})


def article_history(
    *, redis: Redis, store: StateStore, prefix: str, newsroom: str, external_id: str
) -> ArticleHistoryOut:
    """One of this newsroom's articles' applied revisions, newest first; another newsroom's id is not found."""
    uid = article_uid(newsroom, external_id)
    state = store.get(uid)
    entries = read_history(redis=redis, prefix=prefix, uid=uid)
    # A deleted article keeps its tombstone state and its history (the audit), so it is still found here.
    if (state.exists and state.fields.get("newsroom") != newsroom) or not (state.exists or entries):
        raise NotFound(f"No article {external_id!r} for this newsroom.")
    return ArticleHistoryOut(
        uid=uid, external_id=external_id, newsroom=newsroom, entries=[HistoryEntry.model_validate(e) for e in entries]
    )


def accept_ninjs(
    *,
    store: StateStore,
    publisher: EventPublisher,
    settings: IngestSettings,
    newsroom: str,
    document: NinjsIn,
    request_id: str | None = None,
) -> NinjsAccepted:
    """A ninjs item: `usable` creates or replaces, `withheld` withdraws, `canceled` deletes."""
    mapped = ninjs.to_article(document)
    if mapped.article is not None:
        answer = accept_article(
            store=store,
            publisher=publisher,
            settings=settings,
            newsroom=newsroom,
            article=mapped.article,
            request_id=request_id,
        )
    else:
        answer = remove_article(
            store=store,
            publisher=publisher,
            settings=settings,
            newsroom=newsroom,
            external_id=mapped.external_id,
            op=Operation.WITHDRAW if mapped.action == "withdraw" else Operation.DELETE,
            version=mapped.version,
            request_id=request_id,
        )
    return NinjsAccepted(**answer.model_dump(), action=mapped.action, ignored=mapped.ignored)


def _answer(*, uid: str, store: StateStore, settings: IngestSettings, result: str) -> AcceptedArticle:
    state = store.get(uid)
    return AcceptedArticle(
        result=result,  # type: ignore[arg-type]
        uid=uid,
        external_id=state.fields.get("external_id", ""),
        version=state.version,
        revision=state.revision,
        status=state.status or ArticleStatus.ACCEPTED,
        # Withdrawn and deleted articles have no public URL any more.
        url=public_url(site_url=settings.site_url, path=state.fields.get("path"))
        if state.fields.get("op") == Operation.UPSERT
        else None,
    )
