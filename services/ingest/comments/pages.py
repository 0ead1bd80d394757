"""The moderation page (/moderasi): server-rendered, no JavaScript, usable on a phone.

Login checks a moderator's scrypt hash; the session is a signed cookie (HttpOnly, SameSite=Strict, Secure over
https) scoped to /moderasi; every POST carries the session's CSRF token in a form field (`csrf`). Comment
bodies are hostile: Jinja escapes everything and the `inert` filter drops bidi overrides.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from services.ingest.comments import accounts, service, sessions
from services.ingest.comments.deps import NotifierDep, SessionDep
from services.ingest.comments.schemas import MAX_BULK_IDS, Queue
from services.ingest.comments.service import Moderation, moderator_actor
from services.ingest.config import IngestSettings
from services.ingest.deps import RedisDep, SettingsDep
from services.ingest.ratelimit import check_client_rate
from shared.errors import KabarError, RateLimited

log = structlog.get_logger()

HERE = Path(__file__).parent
BASE = "/moderasi"
TABS = {"pending": "Menunggu", "withheld": "Ditahan", "reported": "Dilaporkan"}
PAGE_SIZE = 30
# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069): a comment could reorder what the
# moderator reads ("approve" that reads as something else), so they are removed when shown.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix=BASE, include_in_schema=False)


def inert(text: object) -> str:
    """A hostile string made safe to show beside buttons: no bidi controls (Jinja escapes the rest)."""
    return _BIDI.sub("", str(text))


def utc(moment: datetime) -> str:
    """A time as the page shows it: in UTC whatever the database session's zone, to the minute."""
    return moment.astimezone(UTC).strftime("%d-%m-%Y %H:%M UTC")


@cache
def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=HERE / "templates")
    env.env.filters["inert"] = inert
    env.env.filters["utc"] = utc
    return env


def _secure(request: Request, settings: IngestSettings) -> bool:
    if settings.moderation_cookie_secure is not None:
        return settings.moderation_cookie_secure
    return request.url.scheme == "https"


def _pre_cookie(settings: IngestSettings) -> str:
    return f"{settings.moderation_cookie_name}_masuk"


def _render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    response = templates().TemplateResponse(request, name, {"base": BASE, **context}, status_code=status)
    response.headers.update(_HEADERS)
    return response


def _redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(_HEADERS)
    return response


def unavailable_page(request: Request, *, retry_after: int) -> Response:
    """PostgreSQL is down: a friendly 503 instead of the page."""
    message = "Basis data komentar sedang tidak tersedia. Coba lagi sebentar lagi."
    response = _render(request, "message.html", {"title": "Tidak tersedia", "message": message}, status=503)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _forbidden(request: Request) -> Response:
    return _render(
        request,
        "message.html",
        {"title": "Ditolak", "message": "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman dan coba lagi."},
        status=403,
    )


async def current_session(request: Request, settings: SettingsDep, redis: RedisDep) -> sessions.ModeratorSession | None:
    """The signed session cookie's content, if valid (the moderator's status is checked with the database)."""
    return sessions.read(
        secret=settings.moderation_session_secret,
        cookie=request.cookies.get(settings.moderation_cookie_name),
        redis=redis,
        prefix=settings.prefix,
    )


CookieSessionDep = Annotated[sessions.ModeratorSession | None, Depends(current_session)]


def _moderator(session: Session, cookie: sessions.ModeratorSession | None) -> sessions.ModeratorSession | None:
    if cookie is None:
        return None
    if accounts.active(session=session, moderator_id=cookie.moderator_id, newsroom=cookie.newsroom) is None:
        return None
    return cookie


def _login_form(
    request: Request, settings: IngestSettings, *, error: str | None = None, status: int = 200, newsroom: str = ""
) -> Response:
    pre = sessions.new_pre_session()
    response = _render(
        request,
        "login.html",
        {"csrf": sessions.csrf_token(settings.moderation_session_secret, pre), "error": error, "newsroom": newsroom},
        status=status,
    )
    response.set_cookie(
        _pre_cookie(settings),
        pre,
        max_age=3600,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )
    return response


@router.get("/masuk")
def login_page(request: Request, settings: SettingsDep) -> Response:
    return _login_form(request, settings)


@router.post("/masuk")
def login(
    request: Request,
    settings: SettingsDep,
    redis: RedisDep,
    db: SessionDep,
    newsroom: Annotated[str, Form(max_length=64)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the moderator's password; one generic error whatever was wrong, attempts limited per address."""
    if not sessions.csrf_ok(settings.moderation_session_secret, request.cookies.get(_pre_cookie(settings)), csrf):
        return _forbidden(request)
    client = request.client.host if request.client else "unknown"
    try:
        check_client_rate(
            redis=redis,
            prefix=settings.prefix,
            client=f"moderasi-login:{client}",
            per_minute=settings.moderation_login_per_minute,
        )
    except RateLimited as exc:
        response = _login_form(
            request, settings, error="Terlalu banyak percobaan. Tunggu satu menit.", status=429, newsroom=newsroom
        )
        response.headers.update(exc.headers)
        return response
    moderator = accounts.authenticate(session=db, newsroom=newsroom, username=username, password=password)
    if moderator is None:
        log.info("moderasi.login_failed", newsroom=newsroom[:64])
        return _login_form(
            request,
            settings,
            error="Nama redaksi, nama pengguna, atau kata sandi salah.",
            status=401,
            newsroom=newsroom,
        )
    cookie = sessions.new_session(
        newsroom=moderator.newsroom,
        moderator_id=moderator.id,
        username=moderator.username,
        lifetime=settings.moderation_session_seconds,
    )
    log.info("moderasi.login", newsroom=moderator.newsroom, moderator_id=moderator.id)
    response = _redirect(BASE)
    response.set_cookie(
        settings.moderation_cookie_name,
        sessions.sign(settings.moderation_session_secret, cookie),
        max_age=settings.moderation_session_seconds,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )
    response.delete_cookie(_pre_cookie(settings), path=BASE)
    return response


@router.post("/keluar")
def logout(
    request: Request,
    settings: SettingsDep,
    redis: RedisDep,
    cookie: CookieSessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the session here and everywhere a copy of the cookie lives."""
    if cookie is None:
        return _redirect(f"{BASE}/masuk")
    if not sessions.csrf_ok(settings.moderation_session_secret, cookie.sid, csrf):
        return _forbidden(request)
    sessions.revoke(redis=redis, prefix=settings.prefix, session=cookie)
    response = _redirect(f"{BASE}/masuk")
    response.delete_cookie(settings.moderation_cookie_name, path=BASE)
    return response


@router.get("")
def queue_page(
    request: Request,
    settings: SettingsDep,
    db: SessionDep,
    cookie: CookieSessionDep,
    antrian: Annotated[str, Query(max_length=20)] = "pending",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    pesan: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Response:
    """One queue (Menunggu / Ditahan / Dilaporkan) of the moderator's newsroom."""
    moderator = _moderator(db, cookie)
    if moderator is None:
        return _redirect(f"{BASE}/masuk")
    tab: Queue = antrian if antrian in TABS else "pending"  # type: ignore[assignment]  # checked against TABS
    try:
        page = service.list_queue(session=db, newsroom=moderator.newsroom, queue=tab, cursor=cursor, limit=PAGE_SIZE)
    except KabarError:
        return _redirect(f"{BASE}?antrian={tab}")
    return _render(
        request,
        "queue.html",
        {
            "moderator": moderator,
            "tabs": TABS,
            "tab": tab,
            "page": page,
            "changed": pesan,
            "csrf": sessions.csrf_token(settings.moderation_session_secret, moderator.sid),
        },
    )


@router.post("/putuskan")
def decide(
    request: Request,
    settings: SettingsDep,
    db: SessionDep,
    notifier: NotifierDep,
    cookie: CookieSessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    do: Annotated[str, Form(max_length=40)] = "",
    antrian: Annotated[str, Form(max_length=20)] = "pending",
    ids: Annotated[list[int] | None, Form(max_length=MAX_BULK_IDS)] = None,
) -> Response:
    """The queue's buttons: approve, reject or ban one comment, or approve or reject the ticked ones."""
    moderator = _moderator(db, cookie)
    if moderator is None:
        return _redirect(f"{BASE}/masuk")
    if not sessions.csrf_ok(settings.moderation_session_secret, moderator.sid, csrf):
        return _forbidden(request)
    db.rollback()  # the check above opened a transaction; the decision runs in its own
    m = Moderation(
        session=db, notifier=notifier, newsroom=moderator.newsroom, actor=moderator_actor(moderator.username)
    )
    tab = antrian if antrian in TABS else "pending"
    try:
        changed = service.apply_form(m=m, command=do, ids=ids or [])
    except KabarError as exc:
        if exc.status < 500:
            return _redirect(f"{BASE}?antrian={tab}&pesan=0")
        # Saved, but the broker did not confirm the readers' update (sent again automatically).
        message = "Keputusan tersimpan; pembaruan halaman pembaca tertunda dan dikirim ulang otomatis."
        response = _render(request, "message.html", {"title": "Tersimpan", "message": message}, status=exc.status)
        response.headers.update(exc.headers)
        return response
    return _redirect(f"{BASE}?antrian={tab}&pesan={changed}")


@router.get("/moderasi.css")
def stylesheet() -> Response:
    response = FileResponse(HERE / "static" / "moderasi.css", media_type="text/css")
    response.headers.update({**_HEADERS, "Cache-Control": "public, max-age=3600"})
    return response
