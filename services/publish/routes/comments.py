"""Reader comment pages: thread pages, the form, posting, a submission's status, reporting.

The article page shows the first page of its thread (routes/pages.py) and stays shared and cacheable;
everything that belongs to one reader (CSRF cookie, challenge, question, status) is on these pages, which no
cache keeps.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.publish import service as articles
from services.publish.comments import service as comments
from services.publish.comments.errors import BadForm
from services.publish.comments.guard import CSRF_COOKIE
from services.publish.comments.views import status_context, thread_context
from services.publish.config import PublishSettings
from services.publish.deps import (
    DbDep,
    EsDep,
    LocaleDep,
    NamesDep,
    PoliciesDep,
    ProducerDep,
    RedisDep,
    SettingsDep,
)
from services.publish.rendering import render_page
from services.publish.surrogate import edge_cacheable
from shared.comments.tables import ReportReason
from shared.errors import NotFound
from shared.purge import article_key

router = APIRouter(include_in_schema=False)
Uid = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
CommentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A comment form is a few short fields and at most 5,000 characters of text (x4 for UTF-8, x3 for escapes).
MAX_FORM_BYTES = 64 * 1024


@router.get("/komentar/kiriman/{submission_id}")
async def submission_status(
    request: Request, submission_id: str, es: EsDep, names: NamesDep, db: DbDep, locale: LocaleDep
) -> Response:
    """What became of a reader's comment: awaiting moderation, published or rejected. Never cached."""
    if not comments.SUBMISSION_ID.match(submission_id):
        raise NotFound("No such submission.")
    stored = await comments.submission(engine=db, submission_id=submission_id)
    article = await comments.article_of(es=es, names=names, submission=stored)
    return _private(render_page(request, "comment_status.html", status_context(stored, article, locale=locale)))


@router.get("/komentar/lapor/{comment_id}")
async def report_form(
    request: Request, comment_id: CommentId, es: EsDep, names: NamesDep, db: DbDep, settings: SettingsDep
) -> Response:
    """The report form for one shown comment (or, after sending, the thank-you note)."""
    article = await comments.report_target(es=es, names=names, engine=db, comment_id=comment_id)
    cookie, csrf = comments.csrf_tokens(settings, cookie=request.cookies.get(CSRF_COOKIE))
    context = {
        "article": article,
        "comment_id": comment_id,
        "csrf": csrf,
        "reasons": [r.value for r in ReportReason],
        "thanks": request.query_params.get("terkirim") == "1",
    }
    return _with_cookie(_private(render_page(request, "comment_report.html", context)), cookie, settings)


@router.post("/komentar/lapor/{comment_id}")
async def report(
    request: Request,
    comment_id: CommentId,
    es: EsDep,
    names: NamesDep,
    db: DbDep,
    producer: ProducerDep,
    settings: SettingsDep,
) -> Response:
    form = await _form(request)
    await comments.report(
        comment_id=comment_id,
        reason=form.get("alasan", ""),
        note=form.get("catatan", ""),
        csrf=form.get("csrf", ""),
        cookie=request.cookies.get(CSRF_COOKIE),
        address=_address(request),
        es=es,
        names=names,
        engine=db,
        producer=producer,
        settings=settings,
    )
    return _see_other(request, f"/komentar/lapor/{comment_id}", terkirim="1")


@router.get("/komentar/{uid}/tulis")
async def comment_form(
    request: Request,
    uid: Uid,
    es: EsDep,
    names: NamesDep,
    db: DbDep,
    policies: PoliciesDep,
    settings: SettingsDep,
    balas: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The form ("Tinggalkan Balasan") with this reader's CSRF token, PoW challenge and question."""
    article = await comments.open_article(es=es, names=names, engine=db, policies=policies, settings=settings, uid=uid)
    tokens = comments.new_tokens(settings, cookie=request.cookies.get(CSRF_COOKIE))
    parent = balas if balas and balas.isascii() and balas.isdigit() and int(balas) > 0 else None
    context = {
        "article": article,
        "parent": parent,
        "csrf": tokens.csrf,
        "challenge_json": json.dumps(tokens.challenge, separators=(",", ":")),
        "question": tokens.question,
    }
    return _with_cookie(_private(render_page(request, "comment_form.html", context)), tokens.cookie, settings)


@router.post("/komentar/{uid}")
async def post_comment(
    request: Request,
    uid: Uid,
    es: EsDep,
    names: NamesDep,
    db: DbDep,
    policies: PoliciesDep,
    redis: RedisDep,
    producer: ProducerDep,
    settings: SettingsDep,
) -> Response:
    """Check the form and hand the comment to moderation; 303 to its status page."""
    form = await _form(request)
    submission_id = await comments.submit(
        form=comments.CommentForm(
            name=form.get("nama", ""),
            email=form.get("email", ""),
            body=form.get("komentar", ""),
            parent=form.get("balas", ""),
            csrf=form.get("csrf", ""),
            altcha=form.get("altcha", ""),
            question=form.get("soal", ""),
            answer=form.get("jawaban", ""),
            honeypot=form.get("situs", ""),
        ),
        cookie=request.cookies.get(CSRF_COOKIE),
        uid=uid,
        address=_address(request),
        request_id=getattr(request.state, "request_id", None),
        es=es,
        names=names,
        engine=db,
        policies=policies,
        redis=redis,
        producer=producer,
        settings=settings,
    )
    return _see_other(request, f"/komentar/kiriman/{submission_id}")


@router.get("/komentar/{uid}")
async def thread_page(
    request: Request,
    uid: Uid,
    es: EsDep,
    names: NamesDep,
    db: DbDep,
    settings: SettingsDep,
    locale: LocaleDep,
    halaman: Annotated[int, Query(ge=1, le=10_000)] = 1,
    urutan: Literal["lama", "baru"] = "lama",
) -> Response:
    """Any page of an article's thread, oldest or newest first; purged with the article."""
    edge_cacheable(request, article_key(uid), article=True)
    article = await articles.published_article(es=es, names=names, uid=uid, fields=comments.ARTICLE_FIELDS)
    page = await comments.thread(engine=db, settings=settings, article=article, page=halaman, order=urutan)
    if halaman > 1 and not page.comments:
        raise NotFound("No such page.")
    thread = thread_context(
        page,
        uid=uid,
        number=halaman,
        order=urutan,
        size=settings.comment_page_size,
        open_=comments.is_open(page, article),
        locale=locale if locale != settings.default_locale else None,
    )
    context = {"article": article, "thread": thread, "canonical": settings.site_url.rstrip("/") + article["path"]}
    return render_page(request, "comment_thread.html", context)


async def _form(request: Request) -> dict[str, str]:
    """The posted fields as text (a file or an oversized body is a 400)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise BadForm("body")
    form = await request.form(max_files=0, max_fields=30)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _private(response: Response) -> Response:
    """One reader's page: no cache may keep or share it."""
    response.headers["Cache-Control"] = "no-store"
    if "etag" in response.headers:
        del response.headers["etag"]
    return response


def _with_cookie(response: Response, cookie: str, settings: PublishSettings) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        max_age=settings.comment_form_ttl_seconds,
        path="/komentar",
        httponly=True,
        samesite="lax",
        secure=settings.site_url.startswith("https://"),
    )
    return response


def _see_other(request: Request, path: str, **query: str) -> Response:
    lang = request.query_params.get("lang")
    if lang in {"id", "en"}:
        query["lang"] = lang
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
