"""Reader comments on the publish side: the thread under an article, the form, a submission and its status, reports.

Publish never writes comments: it checks the form, hashes what identifies the reader and hands the submission
to the comment workers (RabbitMQ, publisher-confirmed), which moderate and store it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from elasticsearch import AsyncElasticsearch
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.publish import service as articles
from services.publish.comments import guard, repository
from services.publish.comments.errors import BadForm, CommentsUnavailable, NotAPerson, ThreadClosed
from services.publish.comments.repository import Order, Submission, ThreadPage
from services.publish.comments.text import clean, clean_name
from services.publish.config import PublishSettings
from services.publish.formatting import parse_dt
from shared.comments.events import MAX_BODY_CHARS, MAX_NAME_CHARS, CommentReportedV1, CommentSubmittedV1
from shared.comments.keys import keyed_hash
from shared.comments.tables import ReportReason
from shared.errors import Gone, NotFound
from shared.es import IndexNames
from shared.messaging import TASK_COMMENT_REPORT, TASK_COMMENT_SUBMIT, Queues
from shared.producer import BROKER_ERRORS, TaskProducer

log = structlog.get_logger()
T = TypeVar("T")
# What the comment pages and the submission need of an article (not its body: the POST stays small).
ARTICLE_FIELDS = ["newsroom", "section_slug", "published_at", "path", "title"]

# Deliberately loose (one "@", something on each side, no blanks): the address is only ever hashed.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}", re.ASCII)
SUBMISSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NOTE_CHARS = 500


@dataclass(frozen=True)
class CommentForm:
    """The form's fields as posted (see templates/comment_form.html for the names)."""

    name: str = ""
    email: str = ""
    body: str = ""
    parent: str = ""
    csrf: str = ""
    altcha: str = ""
    question: str = ""
    answer: str = ""
    honeypot: str = ""


@dataclass(frozen=True)
class FormTokens:
    """What a fresh form carries for one reader."""

    cookie: str
    csrf: str
    challenge: dict[str, object]
    question: guard.Question


async def _db(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A repository call in a thread; PostgreSQL trouble becomes CommentsUnavailable (a 503 page)."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except SQLAlchemyError as exc:
        log.warning("comments.database_unavailable", error=type(exc).__name__)
        raise CommentsUnavailable("unavailable") from exc


async def thread(
    *, engine: Engine, settings: PublishSettings, article: dict[str, Any], page: int, order: Order
) -> ThreadPage:
    """One page of an article's shown comments and its policy (CommentsUnavailable when PostgreSQL is down)."""
    return await _db(
        repository.read_thread,
        engine,
        settings,
        newsroom=article.get("newsroom") or "",
        section=article.get("section_slug"),
        article_uid=article["uid"],
        page=page,
        size=settings.comment_page_size,
        order=order,
        max_replies=settings.comment_max_replies,
    )


def is_open(page: ThreadPage, article: dict[str, Any]) -> bool:
    return page.policy.is_open(parse_dt(article.get("published_at")), datetime.now(UTC))


def csrf_tokens(settings: PublishSettings, *, cookie: str | None) -> tuple[str, str]:
    """The reader's CSRF cookie (a new one if none came) and a form token signed for it."""
    cookie = cookie if cookie and len(cookie) <= 64 else guard.new_cookie_token()
    return cookie, guard.csrf_field(settings.comment_form_key, cookie)


def new_tokens(settings: PublishSettings, *, cookie: str | None) -> FormTokens:
    """A CSRF token for the reader's cookie (a new cookie if none), a PoW challenge and a question."""
    key = settings.comment_form_key
    cookie, csrf = csrf_tokens(settings, cookie=cookie)
    return FormTokens(
        cookie=cookie,
        csrf=csrf,
        challenge=guard.pow_challenge(
            key, max_number=settings.comment_pow_max_number, ttl=settings.comment_form_ttl_seconds
        ),
        question=guard.new_question(key),
    )


async def open_article(
    *,
    es: AsyncElasticsearch,
    names: IndexNames,
    engine: Engine,
    policies: repository.PolicyCache,
    settings: PublishSettings,
    uid: str,
) -> dict[str, Any]:
    """The published article whose thread takes comments (404/410 for the article, ThreadClosed otherwise)."""
    article = await articles.published_article(es=es, names=names, uid=uid, fields=ARTICLE_FIELDS)
    policy = await _db(
        policies.read,
        engine,
        settings,
        newsroom=article.get("newsroom") or "",
        section=article.get("section_slug"),
        article_uid=uid,
    )
    if not policy.is_open(parse_dt(article.get("published_at")), datetime.now(UTC)):
        raise ThreadClosed("closed")
    return article


@dataclass(frozen=True)
class Valid:
    name: str
    email: str
    body: str
    parent_id: int | None


def validate(form: CommentForm) -> Valid:
    """Lengths, an email-like address, a parent that is a comment id (400 otherwise)."""
    name = clean_name(form.name)
    body = clean(form.body).strip()
    email = form.email.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise BadForm("name")
    if not body or len(body) > MAX_BODY_CHARS:
        raise BadForm("body")
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise BadForm("email")
    parent = form.parent.strip()
    if parent and not (parent.isascii() and parent.isdigit() and len(parent) <= 18 and int(parent) > 0):
        raise BadForm("parent")
    return Valid(name=name, email=email, body=body, parent_id=int(parent) if parent else None)


def check_person(settings: PublishSettings, form: CommentForm, *, cookie: str | None) -> guard.Spent:
    """CSRF, the honeypot and one proof (PoW, else the question); returns the proof to spend."""
    key = settings.comment_form_key
    ttl = settings.comment_form_ttl_seconds
    guard.check_csrf(key, cookie=cookie, field=form.csrf, ttl=ttl)
    guard.check_honeypot(form.honeypot)
    if form.altcha:
        return guard.check_pow(key, form.altcha)
    if form.question:
        return guard.check_answer(
            key, token=form.question, answer=form.answer, ttl=ttl, min_seconds=settings.comment_min_fill_seconds
        )
    raise NotAPerson("challenge_missing")


async def _spend(redis: Redis, settings: PublishSettings, spent: guard.Spent) -> None:
    try:
        await guard.spend(redis, prefix=settings.prefix, spent=spent)
    except RedisError as exc:
        # Without the record a proof could be replayed at will: refuse rather than accept unchecked.
        log.warning("comments.redis_unavailable", error=type(exc).__name__)
        raise CommentsUnavailable("unavailable") from exc


async def _send(producer: TaskProducer, settings: PublishSettings, task: str, event: BaseModel) -> None:
    """The event as the comment tasks take it (`event=<contract>`), publisher-confirmed (503 otherwise)."""
    kwargs = {"event": event.model_dump(mode="json")}
    try:
        await asyncio.to_thread(producer.send, task, kwargs=kwargs, queue=Queues(settings.prefix).comments)
    except BROKER_ERRORS as exc:
        log.warning("comments.broker_unavailable", task=task, error=repr(exc)[:200])
        raise CommentsUnavailable("unavailable", headers={"Retry-After": "5"}) from exc


async def submit(
    *,
    form: CommentForm,
    cookie: str | None,
    uid: str,
    address: str,
    request_id: str | None,
    es: AsyncElasticsearch,
    names: IndexNames,
    engine: Engine,
    policies: repository.PolicyCache,
    redis: Redis,
    producer: TaskProducer,
    settings: PublishSettings,
) -> str:
    """Check and send one comment to the workers; returns its submission id (the status page's)."""
    spent = check_person(settings, form, cookie=cookie)
    valid = validate(form)
    article = await open_article(es=es, names=names, engine=engine, policies=policies, settings=settings, uid=uid)
    # Spent only once everything else passed: a typo sends the reader back with the same proof still good.
    await _spend(redis, settings, spent)
    key = settings.comment_hash_key
    event = CommentSubmittedV1(
        newsroom=article.get("newsroom") or "",
        article_uid=uid,
        section=article.get("section_slug"),
        published_at=parse_dt(article.get("published_at")),
        parent_id=valid.parent_id,
        author_name=valid.name,
        body=valid.body,
        email_hash=keyed_hash(key, "email", valid.email),
        address_hash=keyed_hash(key, "address", address),
        request_id=request_id,
    )
    await _send(producer, settings, TASK_COMMENT_SUBMIT, event)
    log.info("comment.submitted", article_id=uid, submission_id=event.submission_id, reply=valid.parent_id is not None)
    return event.submission_id


async def submission(*, engine: Engine, submission_id: str) -> Submission | None:
    """The stored comment of a submission (None: not processed yet, or no such submission)."""
    return await _db(repository.read_submission, engine, submission_id=submission_id)


async def article_of(
    *, es: AsyncElasticsearch, names: IndexNames, submission: Submission | None
) -> dict[str, Any] | None:
    """The readable article a stored submission belongs to (None if none, or no longer readable)."""
    if submission is None:
        return None
    try:
        return await articles.published_article(es=es, names=names, uid=submission.article_uid, fields=ARTICLE_FIELDS)
    except (NotFound, Gone):
        return None


async def report_target(
    *, es: AsyncElasticsearch, names: IndexNames, engine: Engine, comment_id: int
) -> dict[str, Any]:
    """The article of a comment readers can see (404 for any other comment, or an article not readable)."""
    uid = await _db(repository.shown_comment_article, engine, comment_id=comment_id)
    if uid is None:
        raise NotFound("No such comment.")
    return await articles.published_article(es=es, names=names, uid=uid, fields=ARTICLE_FIELDS)


async def report(
    *,
    comment_id: int,
    reason: str,
    note: str,
    csrf: str,
    cookie: str | None,
    address: str,
    es: AsyncElasticsearch,
    names: IndexNames,
    engine: Engine,
    producer: TaskProducer,
    settings: PublishSettings,
) -> dict[str, Any]:
    """Send one reader's report of a shown comment to the workers; returns the comment's article."""
    guard.check_csrf(settings.comment_form_key, cookie=cookie, field=csrf, ttl=settings.comment_form_ttl_seconds)
    if reason not in {r.value for r in ReportReason}:
        raise BadForm("reason")
    cleaned = clean(note).strip()[:MAX_NOTE_CHARS] or None
    article = await report_target(es=es, names=names, engine=engine, comment_id=comment_id)
    event = CommentReportedV1(
        comment_id=comment_id,
        reason=ReportReason(reason),
        note=cleaned,
        reporter_hash=keyed_hash(settings.comment_hash_key, "address", address),
    )
    await _send(producer, settings, TASK_COMMENT_REPORT, event)
    log.info("comment.reported", comment_id=comment_id, reason=reason)
    return article
