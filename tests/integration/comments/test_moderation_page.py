"""The moderation page (/moderasi) on the real ingest: login, CSRF, decisions by form, logout, hostile bodies.

Moderators are made with the real `kabar moderators` command. Each test logs in from an address of its own
(uvicorn trusts X-Forwarded-For from loopback), so the per-address login limit is exercised, not tripped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from harness.procs import kabar_env
from shared.comments.tables import Commenter, Moderator, Status
from tests.integration.comments.test_moderation_api import Room, add_comment, fetch, log_rows, rooms

__all__ = ["rooms"]  # a module fixture shared with the API tests

PASSWORD = "kata-sandi-yang-panjang-1"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Mod:
    newsroom: str
    username: str


def _kabar(prefix: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        input=stdin,
        env=kabar_env(prefix),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def moderator(db: Engine, rooms: tuple[Room, Room], prefix: str) -> Mod:
    a, _ = rooms
    username = f"editor{uuid.uuid4().hex[:4]}"
    done = _kabar(prefix, "moderators", "add", "--newsroom", a.name, "--username", username, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    again = _kabar(prefix, "moderators", "add", "--newsroom", a.name, "--username", username, stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already" in again.stderr
    short = _kabar(prefix, "moderators", "add", "--newsroom", a.name, "--username", "x", stdin="pendek\n")
    assert short.returncode == 1
    with Session(db) as session:
        stored = session.scalar(select(Moderator).where(Moderator.newsroom == a.name, Moderator.username == username))
    assert stored is not None and stored.password_hash.startswith("scrypt$") and PASSWORD not in stored.password_hash
    return Mod(a.name, username)


def _address() -> str:
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


@pytest.fixture
def browser(ingest_url: str) -> Iterator[httpx.Client]:
    """A cookie-keeping client from an address of its own, not following redirects."""
    with httpx.Client(base_url=ingest_url, timeout=30, headers={"X-Forwarded-For": _address()}) as client:
        yield client


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html[:500]
    return match.group(1)


def login(client: httpx.Client, mod: Mod, password: str = PASSWORD, username: str | None = None) -> httpx.Response:
    form = client.get("/moderasi/masuk")
    assert form.status_code == 200
    data = {"newsroom": mod.newsroom, "username": username or mod.username, "password": password}
    return client.post("/moderasi/masuk", data={**data, "csrf": _csrf(form.text)})


@pytest.fixture
def signed_in(browser: httpx.Client, moderator: Mod) -> httpx.Client:
    answer = login(browser, moderator)
    assert answer.status_code == 303, answer.text
    return browser


def _queue(client: httpx.Client, tab: str = "pending") -> httpx.Response:
    page = client.get("/moderasi", params={"antrian": tab})
    assert page.status_code == 200, page.text
    return page


def test_without_a_session_the_page_asks_for_login(browser: httpx.Client) -> None:
    answer = browser.get("/moderasi")
    assert answer.status_code == 303 and answer.headers["location"] == "/moderasi/masuk"
    form = browser.get("/moderasi/masuk")
    assert 'name="viewport"' in form.text and 'type="password"' in form.text
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert form.headers["x-frame-options"] == "DENY" and form.headers["x-content-type-options"] == "nosniff"
    assert browser.get("/moderasi/moderasi.css").headers["content-type"].startswith("text/css")


def test_wrong_password_unknown_user_and_other_newsroom_fail_alike(browser: httpx.Client, moderator: Mod) -> None:
    answers = [
        login(browser, moderator, password="salah-salah-salah"),
        login(browser, moderator, username="nobody"),
        login(browser, Mod("modx-none", moderator.username)),
        login(browser, Mod(moderator.newsroom + "\x00", moderator.username)),
    ]
    for answer in answers:
        assert answer.status_code == 401
        assert "Nama redaksi, nama pengguna, atau kata sandi salah." in answer.text
        assert "kabar_moderasi=" not in answer.headers.get("set-cookie", "")
    assert browser.get("/moderasi").status_code == 303


def test_login_without_its_csrf_token_is_refused(browser: httpx.Client, moderator: Mod) -> None:
    browser.get("/moderasi/masuk")
    data = {"newsroom": moderator.newsroom, "username": moderator.username, "password": PASSWORD}
    assert browser.post("/moderasi/masuk", data=data).status_code == 403
    assert browser.post("/moderasi/masuk", data={**data, "csrf": "palsu"}).status_code == 403
    assert browser.get("/moderasi").status_code == 303


def test_login_sets_a_strict_http_only_cookie_and_shows_only_the_newsroom_s_queue(
    browser: httpx.Client, moderator: Mod, db: Engine, rooms: tuple[Room, Room]
) -> None:
    a, b = rooms
    mine = add_comment(db, newsroom=a.name, body="Komentar redaksi A")
    theirs = add_comment(db, newsroom=b.name, body="Komentar redaksi B")
    answer = login(browser, moderator)
    assert answer.status_code == 303 and answer.headers["location"] == "/moderasi"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("kabar_moderasi="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/moderasi" in lowered
    assert "secure" not in lowered  # plain http here; https requests get Secure
    page = _queue(browser)
    assert f'data-id="{mine.id}"' in page.text and f'data-id="{theirs.id}"' not in page.text
    assert "Menunggu" in page.text and "Ditahan" in page.text and "Dilaporkan" in page.text
    assert "Setujui" in page.text and "Tolak" in page.text and "Blokir" in page.text


def test_a_post_without_the_session_s_csrf_token_is_refused(
    signed_in: httpx.Client, ingest_url: str, moderator: Mod, db: Engine, rooms: tuple[Room, Room]
) -> None:
    comment = add_comment(db, newsroom=rooms[0].name)
    missing = signed_in.post("/moderasi/putuskan", data={"do": f"approve:{comment.id}"})
    assert missing.status_code == 403
    with httpx.Client(base_url=ingest_url, timeout=30, headers={"X-Forwarded-For": _address()}) as other:
        login(other, moderator)
        foreign_token = _csrf(_queue(other).text)
    reused = signed_in.post("/moderasi/putuskan", data={"do": f"approve:{comment.id}", "csrf": foreign_token})
    assert reused.status_code == 403
    assert fetch(db, comment.id).status == Status.PENDING  # type: ignore[union-attr]


def test_approve_reject_and_ban_by_form(
    signed_in: httpx.Client, moderator: Mod, db: Engine, rooms: tuple[Room, Room]
) -> None:
    a, b = rooms
    one = add_comment(db, newsroom=a.name)
    ticked = [add_comment(db, newsroom=a.name) for _ in range(2)]
    foreign = add_comment(db, newsroom=b.name)
    spammer = add_comment(db, newsroom=a.name, status=Status.VISIBLE, reports=("spam",))
    token = _csrf(_queue(signed_in).text)

    approved = signed_in.post("/moderasi/putuskan", data={"csrf": token, "do": f"approve:{one.id}"})
    assert approved.status_code == 303 and approved.headers["location"] == "/moderasi?antrian=pending&pesan=1"
    assert fetch(db, one.id).status == Status.APPROVED  # type: ignore[union-attr]
    (row,) = log_rows(db, a.name, comment_id=one.id)
    assert (row.actor, row.action, row.to_status) == (f"moderator:{moderator.username}", "approve", "approved")
    assert "1 komentar diperbarui." in signed_in.get(approved.headers["location"]).text

    ids = [str(c.id) for c in ticked] + [str(foreign.id)]
    rejected = signed_in.post("/moderasi/putuskan", data={"csrf": token, "do": "reject", "ids": ids})
    assert rejected.status_code == 303 and rejected.headers["location"].endswith("pesan=2")
    assert [fetch(db, c.id).status for c in ticked] == ["rejected", "rejected"]  # type: ignore[union-attr]
    assert fetch(db, foreign.id).status == Status.PENDING  # type: ignore[union-attr]

    assert f'data-id="{spammer.id}"' in _queue(signed_in, "reported").text
    banned = signed_in.post(
        "/moderasi/putuskan", data={"csrf": token, "do": f"ban:{spammer.id}", "antrian": "reported"}
    )
    assert banned.status_code == 303
    assert fetch(db, spammer.id).status == Status.REJECTED  # type: ignore[union-attr]
    with Session(db) as session:
        assert session.get(Commenter, spammer.commenter_id).banned_at is not None  # type: ignore[union-attr]
    assert (
        signed_in.post("/moderasi/putuskan", data={"csrf": token, "do": f"ban:{foreign.id}"})
        .headers["location"]
        .endswith("pesan=0")
    )
    with Session(db) as session:
        assert session.get(Commenter, foreign.commenter_id).banned_at is None  # type: ignore[union-attr]


def test_a_hostile_comment_is_shown_inert(signed_in: httpx.Client, db: Engine, rooms: tuple[Room, Room]) -> None:
    body = (
        '<script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">klik</a> \u202eSetujui\u202c \u2066x\u2069 "><b>tebal</b>'
    )
    comment = add_comment(db, newsroom=rooms[0].name, body=body)
    page = _queue(signed_in)
    start = page.text.index(f'data-id="{comment.id}"')
    html = page.text[start : page.text.index("</article>", start)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for live in ("<script", "<img", "<a href", "<b>", 'href="javascript'):
        assert live not in html, live
    for control in ("\u202e", "\u202c", "\u2066", "\u2069"):
        assert control not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # nothing may run, even if injected


def test_logout_ends_the_session_even_for_a_copied_cookie(
    signed_in: httpx.Client, ingest_url: str, moderator: Mod
) -> None:
    page = _queue(signed_in)
    stolen = signed_in.cookies.get("kabar_moderasi")
    assert stolen
    assert signed_in.post("/moderasi/keluar", data={}).status_code == 403  # logout needs the token too
    out = signed_in.post("/moderasi/keluar", data={"csrf": _csrf(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/moderasi/masuk"
    assert signed_in.get("/moderasi").status_code == 303
    with httpx.Client(base_url=ingest_url, timeout=30, cookies={"kabar_moderasi": stolen}) as copy:
        assert copy.get("/moderasi").status_code == 303


def test_a_disabled_moderator_is_out_at_once(
    browser: httpx.Client, db: Engine, rooms: tuple[Room, Room], prefix: str
) -> None:
    username = f"temp{uuid.uuid4().hex[:4]}"
    mod = Mod(rooms[0].name, username)
    assert (
        _kabar(
            prefix, "moderators", "add", "--newsroom", mod.newsroom, "--username", username, stdin=PASSWORD
        ).returncode
        == 0
    )
    assert login(browser, mod).status_code == 303
    assert _queue(browser).status_code == 200
    done = _kabar(prefix, "moderators", "disable", "--newsroom", mod.newsroom, "--username", username)
    assert done.returncode == 0, done.stderr
    assert browser.get("/moderasi").status_code == 303
    assert login(browser, mod).status_code == 401


def test_login_attempts_are_limited_per_address(ingest_url: str, moderator: Mod) -> None:
    with httpx.Client(base_url=ingest_url, timeout=30, headers={"X-Forwarded-For": _address()}) as client:
        statuses = [login(client, moderator, password="tebakan-salah").status_code for _ in range(11)]
        assert statuses[:10] == [401] * 10 and statuses[10] == 429
        refused = login(client, moderator)  # even the right password, until the minute is over
        assert refused.status_code == 429 and refused.headers["retry-after"]
