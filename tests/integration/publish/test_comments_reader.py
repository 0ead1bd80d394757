"""Reader comments on the real publish app, PostgreSQL, Redis, RabbitMQ and Elasticsearch.

Reading tests put comments straight into PostgreSQL (as the workers store them); posting tests go through
the form as a reader does: the CSRF cookie and token from the form page, the ALTCHA challenge solved in
Python (altcha.solve_challenge_v1, the same search the browser script does) or the arithmetic question.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from elasticsearch import Elasticsearch
from lxml import html as lxml_html
from redis import Redis
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from harness.comments import Form, answer, filled, parse_form, prepared_post, solve
from harness.procs import Proc, wait_until
from shared.comments.policy import article_scope
from shared.comments.tables import Comment, Commenter, CommentPolicy, CommentReport, Status
from shared.es import IndexNames
from shared.state import StateStore
from tests.integration.publish.conftest import NEWSROOM, Corpus, load_events, make_event
from tests.stack import start_api

RTL_OVERRIDE = "\u202e"
PAGE_SIZE = 20  # the default comment_page_size


@dataclass
class Story:
    uid: str
    path: str
    title: str


@pytest.fixture(scope="module")
def stories(es: Elasticsearch, redis: Redis, names: IndexNames, corpus: Corpus) -> dict[str, Story]:
    """Fresh articles of this module (published now: threads open by default)."""
    now = datetime.now(UTC)
    keys = ["busy", "hostile", "post", "closed", "counted", "report", "status", "huge"]
    raws = {
        key: {
            "external_id": f"komentar-{key}-{uuid.uuid4().hex[:8]}",
            "title": f"Berita uji komentar {key} {uuid.uuid4().hex[:6]}",
            "section": "Komentar Uji",
            "source": "kabar.test",
            "language": "id",
            "body_paragraphs": [f"Isi berita untuk menguji komentar pembaca ({key})."],
            "published_at": (now - timedelta(minutes=5 + i)).isoformat(),
        }
        for i, key in enumerate(keys)
    }
    events = {key: make_event(raw) for key, raw in raws.items()}
    load_events(es, StateStore(redis, names.prefix), names, list(events.values()))
    out = {}
    for key, event in events.items():
        doc = es.get(index=names.articles, id=event.uid)["_source"]
        out[key] = Story(uid=event.uid, path=doc["path"], title=doc["title"])
    es.indices.refresh(index=names.articles)
    return out


def _commenter(session: Session) -> Commenter:
    commenter = Commenter(newsroom=NEWSROOM, email_hash=hashlib.sha256(uuid.uuid4().bytes).digest())
    session.add(commenter)
    session.flush()
    return commenter


def add_comment(
    session: Session,
    commenter: Commenter,
    *,
    uid: str,
    body: str,
    name: str = "Pembaca",
    status: Status = Status.VISIBLE,
    at: datetime,
    parent: Comment | None = None,
    submission_id: str | None = None,
) -> Comment:
    comment = Comment(
        submission_id=submission_id or str(uuid.uuid4()),
        newsroom=NEWSROOM,
        article_uid=uid,
        parent_id=parent.id if parent else None,
        commenter_id=commenter.id,
        author_name=name,
        body=body,
        body_hash=hashlib.sha256(body.encode()).digest(),
        address_hash=hashlib.sha256(b"203.0.113.9").digest(),
        status=status,
        status_by="rule:test",
        created_at=at,
    )
    session.add(comment)
    session.flush()
    return comment


def _doc(text: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(text)


def _comment_texts(doc: lxml_html.HtmlElement, xpath: str = "//ol[@class='comment-list']/li") -> list[str]:
    return [li.xpath(".//div[@class='comment-text']")[0].text_content().strip() for li in doc.xpath(xpath)]


# ---- reading -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy(db: Engine, stories: dict[str, Story]) -> Story:
    """45 shown top-level comments (visible and approved), replies under the first, and hidden ones."""
    story = stories["busy"]
    start = datetime.now(UTC) - timedelta(hours=2)
    with Session(db) as session, session.begin():
        commenter = _commenter(session)
        first = None
        for i in range(45):
            status = Status.APPROVED if i % 3 else Status.VISIBLE
            c = add_comment(
                session,
                commenter,
                uid=story.uid,
                body=f"Komentar nomor {i:02d}",
                status=status,
                at=start + timedelta(minutes=i),
            )
            first = first or c
        for j in range(3):
            add_comment(
                session,
                commenter,
                uid=story.uid,
                body=f"Balasan nomor {j}",
                parent=first,
                at=start + timedelta(minutes=100 + j),
            )
        for status in (Status.PENDING, Status.WITHHELD, Status.REJECTED):
            add_comment(
                session,
                commenter,
                uid=story.uid,
                body=f"Tersembunyi {status.value}",
                status=status,
                at=start + timedelta(minutes=200),
            )
            add_comment(
                session,
                commenter,
                uid=story.uid,
                body=f"Balasan tersembunyi {status.value}",
                status=status,
                parent=first,
                at=start + timedelta(minutes=201),
            )
    return story


def test_article_page_shows_the_first_page_oldest_first_with_replies_and_the_count(
    publish: httpx.Client, busy: Story
) -> None:
    resp = publish.get(busy.path)
    assert resp.status_code == 200
    doc = _doc(resp.text)
    assert doc.xpath("//h2[@id='komentar-h']")[0].text_content() == "48 Komentar"  # 45 + 3 replies
    texts = _comment_texts(doc)
    assert texts == [f"Komentar nomor {i:02d}" for i in range(PAGE_SIZE)]
    replies = doc.xpath("//ol[@class='comment-list']/li[1]//ol[@class='comment-replies']/li")
    assert [r.text_content().split("·")[-1] for r in replies]  # present
    assert [_comment_texts(doc, "//ol[@class='comment-replies']/li")] == [[f"Balasan nomor {j}" for j in range(3)]]
    assert "Tersembunyi" not in resp.text and "tersembunyi" not in resp.text
    # Next page of the thread: its own URL (the article page stays one shared, cacheable page).
    nxt = doc.xpath("//section[@id='komentar']//a[@rel='next']/@href")
    assert nxt and nxt[0].startswith(f"/komentar/{busy.uid}?halaman=2")
    assert "Tinggalkan Balasan" in resp.text
    assert f"article:{busy.uid}" in resp.headers["xkey"].split()


def test_thread_pages_paginate_and_sort_newest_first(publish: httpx.Client, busy: Story) -> None:
    second = publish.get(f"/komentar/{busy.uid}", params={"halaman": 2})
    assert second.status_code == 200
    assert _comment_texts(_doc(second.text)) == [f"Komentar nomor {i:02d}" for i in range(20, 40)]
    third = _doc(publish.get(f"/komentar/{busy.uid}", params={"halaman": 3}).text)
    assert _comment_texts(third) == [f"Komentar nomor {i:02d}" for i in range(40, 45)]
    assert not third.xpath("//section[@id='komentar']//a[@rel='next']")
    newest = publish.get(f"/komentar/{busy.uid}", params={"urutan": "baru"})
    assert _comment_texts(_doc(newest.text))[:3] == ["Komentar nomor 44", "Komentar nomor 43", "Komentar nomor 42"]
    # Cached at the edge like the article, and purged with it.
    assert f"article:{busy.uid}" in second.headers["xkey"].split()
    assert "no-store" not in second.headers["surrogate-control"]
    assert publish.get(f"/komentar/{busy.uid}", params={"halaman": 9}).status_code == 404
    assert publish.get(f"/komentar/{busy.uid}", params={"urutan": "acak"}).status_code == 400
    assert publish.get("/komentar/0123456789abcdef").status_code == 404


def test_a_500_comment_thread_is_read_a_page_at_a_time(publish: httpx.Client, db: Engine, stories: dict) -> None:
    huge, empty = stories["huge"], stories["counted"]
    start = datetime.now(UTC) - timedelta(days=1)
    with Session(db) as session, session.begin():
        commenter = _commenter(session)
        tops = [
            add_comment(
                session, commenter, uid=huge.uid, body=f"Komentar panjang {i} " * 20, at=start + timedelta(seconds=i)
            )
            for i in range(400)
        ]
        for i in range(100):
            add_comment(
                session,
                commenter,
                uid=huge.uid,
                body=f"Balasan {i}",
                parent=tops[i % 10],
                at=start + timedelta(seconds=1000 + i),
            )

    # A page reads one page, whatever the thread's length: 20 top-level comments and their replies, a link
    # on, and the last page the rest. (How fast that is, next to an empty thread: bench.comments_bench.)
    assert "500 Komentar" in publish.get(huge.path).text
    for order in ("lama", "baru"):
        page = _doc(publish.get(f"/komentar/{huge.uid}", params={"urutan": order}).text)
        assert len(_comment_texts(page)) == PAGE_SIZE
        assert page.xpath("//section[@id='komentar']//a[@rel='next']")
    last = _doc(publish.get(f"/komentar/{huge.uid}", params={"halaman": 20}).text)
    assert len(_comment_texts(last)) == 400 - 19 * PAGE_SIZE
    assert not last.xpath("//section[@id='komentar']//a[@rel='next']")
    assert publish.get(f"/komentar/{empty.uid}").status_code == 200


def test_hostile_comments_are_inert_and_cannot_mislead(publish: httpx.Client, db: Engine, stories: dict) -> None:
    story = stories["hostile"]
    bodies = [
        "<script>window.__x=1</script> halo",
        '<img src=x onerror="alert(1)"> gambar',
        "klik javascript:alert(1) atau JAVASCRIPT://%0aalert(2) dan data:text/html,<b>x</b>",
        'tautan https://contoh.id/a?b=1&c="2" dan http://x.id/<svg/onload=alert(3)>.',
        "baris satu\nbaris dua\u202e\u2066tersembunyi\u2069",
    ]
    with Session(db) as session, session.begin():
        commenter = _commenter(session)
        at = datetime.now(UTC) - timedelta(minutes=30)
        for i, body in enumerate(bodies):
            add_comment(
                session,
                commenter,
                uid=story.uid,
                body=body,
                name=f"Admin{RTL_OVERRIDE}nimdA {i}",
                at=at + timedelta(seconds=i),
            )
    resp = publish.get(story.path)
    assert resp.status_code == 200
    section = _doc(resp.text).xpath("//section[@id='komentar']")[0]
    assert not section.xpath(".//script | .//img | .//svg | .//b")
    assert not [a for el in section.iter() for a in el.attrib if a.lower().startswith("on")]
    links = section.xpath(".//div[@class='comment-text']//a")
    assert [a.get("href") for a in links] == ["https://contoh.id/a?b=1&c=", "http://x.id/"]
    assert all(a.get("rel") == "nofollow ugc noopener" for a in links)
    assert "javascript:alert(1)" in section.text_content()  # shown as text, never a link
    assert RTL_OVERRIDE not in resp.text and "\u2066" not in resp.text
    names = section.xpath(".//bdi[@class='comment-author']")
    assert names and all(n.text_content().startswith("AdminnimdA") for n in names)
    last = section.xpath(".//ol[@class='comment-list']/li")[-1]
    assert len(last.xpath(".//div[@class='comment-text']//br")) == 1
    assert "<script>" not in resp.text.split('id="komentar"')[1]


# ---- posting ---------------------------------------------------------------------------------------------


def open_form(client: httpx.Client, uid: str, **params: str) -> Form:
    """The form page, checked: never cached, and it sets the CSRF cookie."""
    resp = client.get(f"/komentar/{uid}/tulis", params=params)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["cache-control"] == "no-store"
    assert "kabar_csrf" in resp.headers.get("set-cookie", "")
    return parse_form(resp.text)


@pytest.fixture
def reader(publish_url: str) -> Iterator[httpx.Client]:
    """A browser-like client: keeps cookies, does not follow redirects."""
    with httpx.Client(base_url=publish_url, timeout=30) as client:
        yield client


def stored(db: Engine, submission_id: str) -> Comment | None:
    """The comment the moderation worker stored for a submission (None until it has)."""
    with Session(db, expire_on_commit=False) as session:
        return session.scalar(select(Comment).where(Comment.submission_id == submission_id))


def test_posting_with_the_proof_of_work_awaits_moderation(
    reader: httpx.Client, stories: dict, db: Engine, worker: Proc
) -> None:
    story = stories["post"]
    form = open_form(reader, story.uid)
    data = filled(form, altcha=solve(form.challenge), komentar="Komentar pertama saya\nhttps://contoh.id/sumber")
    data.pop("soal")
    resp = reader.post(f"/komentar/{story.uid}", data=data)
    assert resp.status_code == 303, resp.text[:500]
    assert resp.headers["cache-control"] == "no-store"
    location = resp.headers["location"]
    submission_id = location.rsplit("/", 1)[1]
    assert location == f"/komentar/kiriman/{submission_id}"
    first = reader.get(location)  # before or after the worker got to it: awaiting moderation either way
    assert first.status_code == 200 and "menunggu moderasi" in first.text
    assert first.headers["cache-control"] == "no-store" and "no-store" in first.headers["surrogate-control"]
    # The real moderation worker on the comments queue stores it; a new commenter's first comment is held.
    comment = wait_until(lambda: stored(db, submission_id), timeout=30, what="the submission stored by the worker")
    assert comment.status in {Status.PENDING, Status.WITHHELD}, comment.status_by
    assert comment.article_uid == story.uid and comment.author_name == "Siti Pembaca"
    assert len(comment.address_hash) == 32 and b"127.0.0.1" not in comment.address_hash
    status = reader.get(location)
    assert "menunggu moderasi" in status.text and "Komentar pertama saya" in status.text
    assert "Komentar pertama saya" not in reader.get(f"/komentar/{story.uid}").text  # not shown until approved
    # The same solved challenge again: refused, however fresh the CSRF token.
    replay = reader.post(f"/komentar/{story.uid}", data=data)
    assert replay.status_code == 403
    assert "sudah dikirim" in replay.text


def test_posting_without_javascript_answers_the_question(reader: httpx.Client, stories: dict) -> None:
    story = stories["post"]
    form = open_form(reader, story.uid)
    too_soon = reader.post(f"/komentar/{story.uid}", data=filled(form, jawaban=answer(form.question)))
    assert too_soon.status_code == 403 and "terlalu cepat" in too_soon.text
    form = open_form(reader, story.uid)
    wrong = reader.post(f"/komentar/{story.uid}", data=filled(form, jawaban=str(int(answer(form.question)) + 1)))
    assert wrong.status_code == 403 and "salah" in wrong.text
    time.sleep(3.2)  # comment_min_fill_seconds
    ok = reader.post(f"/komentar/{story.uid}", data=filled(form, jawaban=answer(form.question)))
    assert ok.status_code == 303, ok.text[:500]
    assert "menunggu moderasi" in reader.get(ok.headers["location"]).text
    again = reader.post(f"/komentar/{story.uid}", data=filled(form, jawaban=answer(form.question)))
    assert again.status_code == 403


def test_a_reply_carries_its_parent(reader: httpx.Client, stories: dict, db: Engine, worker: Proc) -> None:
    story = stories["post"]
    with Session(db) as session, session.begin():
        parent = add_comment(session, _commenter(session), uid=story.uid, body="Induk", at=datetime.now(UTC))
        parent_id = parent.id
    form = open_form(reader, story.uid, balas=str(parent_id))
    assert form.fields["balas"] == str(parent_id)
    resp = reader.post(f"/komentar/{story.uid}", data=filled(form, altcha=solve(form.challenge)))
    assert resp.status_code == 303
    submission_id = resp.headers["location"].rsplit("/", 1)[1]
    reply = wait_until(lambda: stored(db, submission_id), timeout=30, what="the reply stored by the worker")
    assert reply.parent_id == parent_id


def test_csrf_is_required(reader: httpx.Client, publish_url: str, stories: dict) -> None:
    story = stories["post"]
    form = open_form(reader, story.uid)
    data = filled(form, altcha=solve(form.challenge))
    missing = reader.post(f"/komentar/{story.uid}", data={k: v for k, v in data.items() if k != "csrf"})
    assert missing.status_code == 403
    assert missing.headers["cache-control"] == "no-store"
    with httpx.Client(base_url=publish_url, timeout=30) as stranger:  # no cookie: a cross-site post
        assert stranger.post(f"/komentar/{story.uid}", data=data).status_code == 403
    forged = reader.post(f"/komentar/{story.uid}", data={**data, "csrf": "1." + "0" * 64})
    assert forged.status_code == 403
    # Nothing proved: neither a solution nor an answer.
    form = open_form(reader, story.uid)
    bare = {k: v for k, v in filled(form).items() if k not in {"soal", "altcha"}}
    assert reader.post(f"/komentar/{story.uid}", data=bare).status_code == 403


def test_bad_input_is_a_4xx_page(reader: httpx.Client, stories: dict) -> None:
    story = stories["post"]
    cases = [
        {"balas": "abc"},
        {"balas": "-1"},
        {"komentar": "   "},
        {"komentar": "x" * 5001},
        {"nama": ""},
        {"email": "bukan-email"},
        {"situs": "http://spam.example"},
    ]
    for case in cases:
        form = open_form(reader, story.uid)
        resp = reader.post(f"/komentar/{story.uid}", data=filled(form, altcha=solve(form.challenge), **case))
        assert resp.status_code == 400, (case, resp.status_code)
        assert "text/html" in resp.headers["content-type"]
    form = open_form(reader, story.uid)
    data = filled(form, altcha=solve(form.challenge))
    assert reader.post("/komentar/0123456789abcdef", data=data).status_code == 404
    assert reader.post("/komentar/nope", data=data).status_code == 400
    assert reader.post(f"/komentar/{story.uid}", data={**data, "altcha": "!!"}).status_code == 403
    assert reader.post(f"/komentar/{story.uid}", files={"x": ("a.txt", b"x")}).status_code in {400, 403}


def test_a_closed_thread_shows_no_form_and_refuses_comments(
    reader: httpx.Client, publish: httpx.Client, db: Engine, stories: dict, redis: Redis, prefix: str
) -> None:
    story, other = stories["closed"], stories["post"]
    with Session(db) as session, session.begin():
        session.execute(delete(CommentPolicy).where(CommentPolicy.scope == article_scope(story.uid)))
        session.add(CommentPolicy(newsroom=NEWSROOM, scope=article_scope(story.uid), closed=True))
    page = publish.get(story.path)
    assert "Komentar ditutup" in page.text
    assert f"/komentar/{story.uid}/tulis" not in page.text
    assert reader.get(f"/komentar/{story.uid}/tulis").status_code == 403
    form = open_form(reader, other.uid)
    resp = reader.post(f"/komentar/{story.uid}", data=filled(form, altcha=solve(form.challenge)))
    assert resp.status_code == 403
    assert "Komentar ditutup" in resp.text


# ---- status, reports, counts ---------------------------------------------------------------------------


def test_the_status_page_follows_the_stored_comment(publish: httpx.Client, db: Engine, stories: dict) -> None:
    story = stories["status"]
    ids = {status: str(uuid.uuid4()) for status in Status}
    with Session(db) as session, session.begin():
        commenter = _commenter(session)
        rows = {
            status: add_comment(
                session,
                commenter,
                uid=story.uid,
                body=f"Isi {status.value}",
                status=status,
                at=datetime.now(UTC),
                submission_id=sid,
            )
            for status, sid in ids.items()
        }
        row_ids = {status: row.id for status, row in rows.items()}
    expected = {
        Status.PENDING: "menunggu moderasi",
        Status.WITHHELD: "menunggu moderasi",
        Status.VISIBLE: "telah terbit",
        Status.APPROVED: "telah terbit",
        Status.REJECTED: "ditolak",
    }
    for status, words in expected.items():
        resp = publish.get(f"/komentar/kiriman/{ids[status]}")
        assert resp.status_code == 200 and words in resp.text, status
        assert f"Isi {status.value}" in resp.text
        assert resp.headers["cache-control"] == "no-store"
        if words == "telah terbit":
            assert f'href="{story.path}#komentar-{row_ids[status]}"' in resp.text
    assert "menunggu moderasi" in publish.get(f"/komentar/kiriman/{uuid.uuid4()}").text  # not processed yet
    assert publish.get("/komentar/kiriman/bukan-id").status_code == 404


def test_a_reader_reports_a_comment(reader: httpx.Client, db: Engine, stories: dict, worker: Proc) -> None:
    story = stories["report"]
    with Session(db) as session, session.begin():
        commenter = _commenter(session)
        shown = add_comment(session, commenter, uid=story.uid, body="Komentar yang dilaporkan", at=datetime.now(UTC))
        hidden = add_comment(
            session, commenter, uid=story.uid, body="Belum terbit", status=Status.PENDING, at=datetime.now(UTC)
        )
        shown_id, hidden_id = shown.id, hidden.id
    page = reader.get(story.path)
    assert f"/komentar/lapor/{shown_id}" in page.text
    form = reader.get(f"/komentar/lapor/{shown_id}")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    csrf = _doc(form.text).xpath("//input[@name='csrf']/@value")[0]
    assert reader.post(f"/komentar/lapor/{shown_id}", data={"alasan": "spam"}).status_code == 403
    assert reader.post(f"/komentar/lapor/{shown_id}", data={"alasan": "bosan", "csrf": csrf}).status_code == 400
    resp = reader.post(f"/komentar/lapor/{shown_id}", data={"alasan": "spam", "catatan": "iklan", "csrf": csrf})
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/komentar/lapor/{shown_id}?terkirim=1"
    assert "Terima kasih" in reader.get(resp.headers["location"]).text
    assert reader.get(f"/komentar/lapor/{hidden_id}").status_code == 404
    assert reader.post(f"/komentar/lapor/{hidden_id}", data={"alasan": "spam", "csrf": csrf}).status_code == 404

    def report_stored() -> tuple[str, bytes] | None:
        with Session(db) as session:
            row = session.execute(
                select(CommentReport.reason, CommentReport.reporter_hash).where(CommentReport.comment_id == shown_id)
            ).first()
        return (row[0], row[1]) if row else None

    reason, reporter = wait_until(report_stored, timeout=30, what="the report stored by the worker")
    assert reason == "spam" and len(reporter) == 32


def test_lists_show_counts_and_the_home_page_the_most_discussed(
    publish: httpx.Client, es: Elasticsearch, names: IndexNames, stories: dict, corpus: Corpus
) -> None:
    story = stories["counted"]
    now = datetime.now(UTC).isoformat()
    # A count left behind for a withdrawn story never puts it in the list.
    for uid, count in ((story.uid, 987), (corpus.uids["withdrawn"], 5000)):
        es.index(
            index=names.comment_counts,
            id=uid,
            document={"newsroom": NEWSROOM, "count": count, "last_comment_at": now},
            refresh=True,
        )
    home = wait_until(
        lambda: (r := publish.get("/", params={"_": uuid.uuid4().hex})) and story.title in r.text and r,
        timeout=10,
        what="home with the story",
    )
    doc = _doc(home.text)
    discussed = doc.xpath("//section[@class='most-discussed']//li/a[1]/text()")
    assert discussed and discussed[0] == story.title
    assert "Paling banyak dibahas" in home.text
    assert "987 Komentar" in home.text
    section = publish.get("/komentar-uji")
    assert section.status_code == 200 and "987 Komentar" in section.text
    search = publish.get("/cari", params={"q": story.title})
    assert "987 Komentar" in search.text
    english = publish.get("/", params={"lang": "en"})
    assert "Most discussed" in english.text and "987 Comments" in english.text


def test_postgresql_down_leaves_the_article_page_up_with_a_notice(
    stack_env: dict[str, str], busy: Story, stories: dict, corpus: Corpus
) -> None:
    """A second publish whose PostgreSQL is unreachable: articles render, the thread is a notice no cache keeps."""
    env = {
        **stack_env,
        "KABAR_DATABASE_URL": "postgresql+psycopg://kabar:kabar@127.0.0.1:1/kabar",
        "KABAR_LOG_LEVEL": "WARNING",
        "KABAR_PUBLISH_OPERATOR_PORT": "0",
    }
    proc, url = start_api("publish-nodb", "services.publish.app:create_app", env)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            page = client.get(busy.path)
            assert page.status_code == 200
            assert busy.title in page.text and "Komentar sedang tidak dapat ditampilkan" in page.text
            assert "Komentar nomor" not in page.text
            assert page.headers["surrogate-control"] == "no-store"
            assert client.get(f"/komentar/{busy.uid}").status_code == 503
            assert client.get(f"/komentar/{busy.uid}/tulis").status_code == 503
            assert client.get(f"/komentar/kiriman/{uuid.uuid4()}").status_code == 503
            assert client.get("/").status_code == 200
    finally:
        proc.stop()


def test_twenty_readers_posting_at_once_all_get_through(publish_url: str, stories: dict, db: Engine) -> None:
    """100 comments from 20 readers at once (forms opened and solved beforehand, as readers do while typing):
    every one answered 303 with its own submission, and every one stored. Their speed is bench.comments_bench's."""
    story = stories["post"]
    prepared = [prepared_post(publish_url, story.uid, komentar=f"Komentar serentak {i}.") for i in range(100)]

    async def run() -> list[str]:
        locations: list[str] = []
        queue = list(prepared)

        async def reader() -> None:
            async with httpx.AsyncClient(base_url=publish_url, timeout=30) as client:
                while queue:
                    cookie, data = queue.pop()
                    client.cookies.set("kabar_csrf", cookie)
                    resp = await client.post(f"/komentar/{story.uid}", data=data)
                    assert resp.status_code == 303, resp.text[:300]
                    locations.append(resp.headers["location"])

        await asyncio.gather(*(reader() for _ in range(20)))
        return locations

    locations = asyncio.run(run())
    assert len(set(locations)) == 100
    submissions = {location.rsplit("/", 1)[1] for location in locations}

    def stored() -> bool:
        with Session(db) as session:
            found = session.scalars(select(Comment.submission_id).where(Comment.submission_id.in_(submissions)))
            return len(set(found)) == 100

    wait_until(stored, timeout=120, interval=0.5, what="all 100 comments stored")
