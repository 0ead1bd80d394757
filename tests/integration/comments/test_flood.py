"""A comment flood: 2,000 spam submissions from four addresses, through the real form, while genuine readers
post from their own addresses and others read the article.

Every spam submission ends withheld (its content: gambling words, links) or refused (the per-address
rate); every genuine one gets through to moderation (pending, as a first comment); readers got the
article page throughout. How fast pages stay under the flood is bench.comments_bench's to show.

A private stack: its own publish (proof of work at the smallest difficulty, so the test's clients can pay
for 2,000 of them), ingest and workers, so the flood never queues behind other tests' work.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from harness.comments import CSRF_COOKIE, filled, parse_form, solve
from harness.procs import wait_until
from harness.stack import private_stack
from services.ingest.auth import create_key
from shared.comments.tables import Comment, Status
from shared.db import make_engine

SPAM = 2000
SPAMMERS = ["203.0.113.7", "203.0.113.8", "198.51.100.20", "198.51.100.21"]
GENUINE = 12
CONCURRENCY = 8
# Gambling spam as it floods Indonesian comment sections: the words, links, shouting, repetition.
SPAM_TEXTS = [
    "SLOT GACOR hari ini maxwin!!! daftar sekarang https://gacor{n}.example/daftar",
    "Situs judi online terpercaya, deposit pulsa tanpa potongan https://judi{n}.example https://bonus{n}.example",
    "Info togel jitu malam ini, WA 0812{n:05d} https://togel{n}.example",
    "Mau cuan? klik https://cuan{n}.example https://cuan{n}.example/a https://cuan{n}.example/b",
]
GENUINE_TEXTS = [
    "Semoga pertemuan bulan Januari bisa meredakan ketegangan di perbatasan.",
    "Artikelnya jelas, terima kasih. Apakah ada tanggapan dari Kementerian Luar Negeri?",
    "Saya berharap kedua pihak mengutamakan dialog.",
]


async def _submit(client: httpx.AsyncClient, uid: str, address: str, **fields: str) -> str:
    """Open the form, pay the proof of work, post it; returns the status page's address."""
    client.cookies.clear()
    headers = {"X-Forwarded-For": address}
    form = await client.get(f"/komentar/{uid}/tulis", headers=headers)
    form.raise_for_status()
    parsed = parse_form(form.text)
    data = filled(parsed, altcha=solve(parsed.challenge), **fields)
    client.cookies.set(CSRF_COOKIE, form.cookies[CSRF_COOKIE])
    posted = await client.post(f"/komentar/{uid}", data=data, headers=headers)
    assert posted.status_code == 303, posted.text[:300]
    return posted.headers["location"].rsplit("/", 1)[1]


def test_a_spam_flood_is_withheld_or_refused_and_genuine_readers_still_get_through() -> None:
    with private_stack("f", KABAR_COMMENT_POW_MAX_NUMBER="1000") as stack:
        _, publish_url = stack.api("publish", "services.publish.app:create_app")
        _, ingest_url = stack.api("ingest", "services.ingest.app:create_app")
        stack.worker(("index",), name="flood-index")
        stack.worker(("comments",), name="flood-comments", concurrency=2)
        key = create_key(redis=stack.redis, prefix=stack.prefix, newsroom="kabar9")
        with httpx.Client(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest:
            now = datetime.now(UTC).replace(microsecond=0).isoformat()
            article = {"external_id": "banjir-komentar", "title": "Rusia dan NATO bertemu", "published_at": now}
            article["body"] = "<p>Pertemuan keamanan dijadwalkan pada bulan Januari.</p>"
            assert ingest.post("/v1/articles", json=article).status_code == 202
            state = wait_until(
                lambda: (s := ingest.get("/v1/articles/banjir-komentar").json()).get("url") and s,
                timeout=30,
                what="the article published",
            )
        uid, path = state["uid"], "/" + state["url"].split("://", 1)[1].split("/", 1)[1]

        spam_numbers = itertools.count()
        genuine_sent: list[str] = []
        spam_sent: list[str] = []
        page_answers: Counter[int] = Counter()
        flooding = True

        async def spammer(client: httpx.AsyncClient) -> None:
            while (n := next(spam_numbers)) < SPAM:
                text = SPAM_TEXTS[n % len(SPAM_TEXTS)].format(n=n % 97)
                email = f"promo{n % 40}@judi.example"  # a few mailboxes, rotated
                spam_sent.append(await _submit(client, uid, SPAMMERS[n % len(SPAMMERS)], komentar=text, email=email))
                if n and n % (SPAM // GENUINE) == 0 and len(genuine_sent) < GENUINE:
                    i = len(genuine_sent)
                    genuine_sent.append(
                        await _submit(
                            client,
                            uid,
                            f"192.0.2.{10 + i}",
                            komentar=GENUINE_TEXTS[i % len(GENUINE_TEXTS)] + f" ({i})",
                            nama=f"Pembaca {i}",
                            email=f"pembaca{i}-{uuid.uuid4().hex[:6]}@contoh.id",
                        )
                    )

        async def reader(client: httpx.AsyncClient) -> None:
            while flooding:
                page_answers[(await client.get(path, headers={"X-Forwarded-For": "192.0.2.200"})).status_code] += 1
                await asyncio.sleep(random.uniform(0.05, 0.15))

        async def run() -> None:
            nonlocal flooding
            async with httpx.AsyncClient(base_url=publish_url, timeout=60) as reading:
                readers = asyncio.gather(reader(reading), reader(reading))
                clients = [httpx.AsyncClient(base_url=publish_url, timeout=60) for _ in range(CONCURRENCY)]
                try:
                    await asyncio.gather(*(spammer(c) for c in clients))
                finally:
                    flooding = False
                    await readers
                    for c in clients:
                        await c.aclose()

        asyncio.run(run())
        assert len(spam_sent) == SPAM and len(genuine_sent) == GENUINE

        engine = make_engine(stack.settings, pool_size=1)
        try:

            def all_stored() -> dict[str, Comment] | None:
                with Session(engine) as session:
                    rows = session.scalars(select(Comment).where(Comment.article_uid == uid)).all()
                    session.expunge_all()
                return {c.submission_id: c for c in rows} if len(rows) == SPAM + GENUINE else None

            stored = wait_until(all_stored, timeout=300, interval=2.0, what="every submission moderated")
        finally:
            engine.dispose()

    spam = [stored[s] for s in spam_sent]
    outcomes = Counter((c.status, c.status_by) for c in spam)
    assert {status for status, _ in outcomes} <= {Status.WITHHELD, Status.REJECTED}, outcomes
    # The rates stop the flood (per mailbox, per address); what got past them was judged by its content.
    refused = outcomes[(Status.REJECTED, "rule:rate-commenter")] + outcomes[(Status.REJECTED, "rule:rate-address")]
    assert refused >= SPAM * 0.9, outcomes
    assert outcomes[(Status.REJECTED, "rule:rate-address")] > 0, outcomes
    genuine = [stored[s] for s in genuine_sent]
    assert all(c.status == Status.PENDING for c in genuine), [(c.status, c.status_by) for c in genuine]
    # Readers were answered throughout: no errors while 2,000 forms were posted.
    assert set(page_answers) == {200}, page_answers
    assert sum(page_answers.values()) > 20
    print(f"flood outcomes: {dict(outcomes)}; article page answers: {dict(page_answers)}")
