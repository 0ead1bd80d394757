"""Several of every process at once, as `docker compose up --scale` runs them: two ingests with no balancer in
front (each client picks one), two publishes, two index workers and two related workers on the same queues.

Nothing in them may assume it is alone: versions, idempotency, limits and related-list debouncing live in Redis
and Elasticsearch, and every publish process hears every purge. docs/scaling.md has the whole audit.

A private stack (its own prefix, queues and processes), so the session's workers do not take this work.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from harness.comments import prepared_post
from harness.procs import Proc, wait_until
from harness.stack import PrivateStack, private_stack
from services.ingest.auth import create_key
from services.publish.comments.guard import CSRF_COOKIE
from shared.messaging import TASK_INDEX_EVENTS, TASK_RELATED_COMPUTE, TASK_RELATED_REFRESH, Queues, queue_depths
from shared.models import article_uid
from shared.state import StateStore

# The newsroom request limit of both ingests (each newsroom has its own window, counted in Redis).
RATE_LIMIT = 150
ARTICLES = 8  # one per ANGLES
VERSIONS = 4
# One wait for anything asynchronous: generous for a loaded two-core machine, never the expected time.
WAIT = 30.0
SETTLE = 1.0


@dataclass
class Scaled:
    stack: PrivateStack
    ingest_procs: list[tuple[Proc, str]]
    publishes: list[tuple[Proc, str]]
    index_workers: list[Proc]
    related_workers: list[Proc]

    @property
    def ingests(self) -> list[str]:
        return [url for _, url in self.ingest_procs]

    def key(self, newsroom: str) -> str:
        return create_key(redis=self.stack.redis, prefix=self.stack.prefix, newsroom=newsroom)

    def store(self) -> StateStore:
        return StateStore(self.stack.redis, self.stack.prefix)


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    env = {
        "KABAR_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        # Pages stay in a publish process's cache until a purge notice evicts them (expiry is far off)...
        "KABAR_PAGE_CACHE_SECONDS": "300",
        # ...and are cached again this soon after a purge (3 s by default; see MicroCache).
        "KABAR_PURGE_SETTLE_SECONDS": str(SETTLE),
    }
    with private_stack("h", **env) as stack:
        # Started side by side: each waits only for its own readiness.
        with ThreadPoolExecutor(8) as pool:
            apis = [
                pool.submit(stack.api, name, f"services.{name}.app:create_app")
                for name in ("ingest", "ingest", "publish", "publish")
            ]
            workers = [
                pool.submit(stack.worker, (kind,), name=f"scale-{kind}-{n}")
                for kind in ("index", "related")
                for n in (1, 2)
            ]
            started = [f.result() for f in apis]
            procs = [f.result() for f in workers]
        yield Scaled(
            stack=stack,
            ingest_procs=started[:2],
            publishes=started[2:],
            index_workers=procs[:2],
            related_workers=procs[2:],
        )


# ------------------------------------------------------------------------------------ (a) writes over two ingests


@dataclass
class Write:
    external_id: str
    version: int
    ingest: int  # which of the two ingests it went to
    idempotency_key: str | None
    status: int
    body: dict[str, Any]
    replayed: bool


@dataclass
class Written:
    newsroom: str
    key: str
    nonce: str
    writes: list[Write]

    def article(self, n: int, version: int) -> dict[str, Any]:
        return _article(self.nonce, n, version)

    def uids(self) -> list[str]:
        return [article_uid(self.newsroom, f"scale-{self.nonce}-{n}") for n in range(ARTICLES)]


# One story each: titles too alike would be taken for the same story re-filed and left out of each other's lists.
ANGLES = [
    "Warga mengungsi ke masjid",
    "Tanggul muara jebol lagi",
    "Nelayan berhenti melaut",
    "Sekolah pesisir diliburkan",
    "Bantuan logistik akhirnya tiba",
    "Pompa air tambahan dikerahkan",
    "Jalan pantura tergenang",
    "Pasar ikan sepi pembeli",
]


def _article(nonce: str, n: int, version: int) -> dict[str, Any]:
    # Stories close to each other (the nonce), so their related lists name each other and refresh each other.
    published = datetime(2026, 3, 1, 8, tzinfo=UTC) + timedelta(hours=n)
    return {
        "external_id": f"scale-{nonce}-{n}",
        "version": version,
        "title": f"{ANGLES[n]} akibat banjir rob {nonce} (pembaruan {version})",
        "body": (
            f"<p>Banjir rob {nonce} merendam permukiman pesisir utara untuk hari ke-{n + 2}.</p>"
            f"<p>Warga {nonce} memindahkan barang ke tempat tinggi; pembaruan versi {version}.</p>"
        ),
        "section": "Lingkungan",
        "published_at": published.isoformat(),
    }


@pytest.fixture(scope="module")
def written(scaled: Scaled) -> Written:
    """Every version of every article sent concurrently and in any order, spread over both ingests: each
    version once with an idempotency key to each ingest (one request does the work, the other replays it
    or is told it is in progress), and once more without a key."""
    nonce = f"sk{uuid.uuid4().hex[:6]}"
    newsroom = f"scale-{nonce}"
    done = Written(newsroom=newsroom, key=scaled.key(newsroom), nonce=nonce, writes=[])
    jobs: list[tuple[int, int, int, str | None]] = []
    for n in range(ARTICLES):
        for version in range(1, VERSIONS + 1):
            key = f"{nonce}-{n}-{version}"
            jobs += [(n, version, 0, key), (n, version, 1, key), (n, version, random.randrange(2), None)]
    random.shuffle(jobs)
    clients = [
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {done.key}"}, timeout=30)
        for url in scaled.ingests
    ]

    def send(job: tuple[int, int, int, str | None]) -> Write:
        n, version, which, key = job
        headers = {"Idempotency-Key": key} if key else {}
        # As a newsroom's client does: a key the other request still holds (or just let go) is retried.
        deadline = time.monotonic() + WAIT
        while True:
            response = clients[which].post("/v1/articles", json=_article(nonce, n, version), headers=headers)
            busy = response.status_code == 409 and "Idempotency-Key" in response.json().get("detail", "")
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return Write(
            external_id=f"scale-{nonce}-{n}",
            version=version,
            ingest=which,
            idempotency_key=key,
            status=response.status_code,
            body=response.json(),
            replayed=response.headers.get("idempotent-replayed") == "true",
        )

    try:
        with ThreadPoolExecutor(16) as pool:
            done.writes = list(pool.map(send, jobs))
    finally:
        for client in clients:
            client.close()
    return done


def _stale(write: Write) -> bool:
    """The 409 that concurrency explains: a higher version was stored first."""
    return write.status == 409 and int(write.body.get("stored_version") or 0) > write.version


def test_concurrent_versions_over_two_ingests_end_at_the_highest_version_once(scaled: Scaled, written: Written) -> None:
    assert {w.ingest for w in written.writes} == {0, 1}
    odd = [(w.status, w.body) for w in written.writes if w.status not in (200, 202) and not _stale(w)]
    assert not odd, odd[:5]
    # An idempotency key did its work at most once, whichever ingest each of its requests reached, and every
    # request with it got the same answer back (a stale version's 409 releases the key: refused again).
    answers: dict[str, list[Write]] = {}
    for w in written.writes:
        if w.idempotency_key:
            answers.setdefault(w.idempotency_key, []).append(w)
    for same in answers.values():
        if any(w.status < 300 for w in same):
            assert all(w.status == same[0].status and w.body == same[0].body for w in same), same
        assert sum(not w.replayed for w in same if w.status < 300) <= 1, same

    stack = scaled.stack
    store = scaled.store()
    uids = written.uids()

    def settled() -> bool:
        states = store.get_many(uids)
        return all(s.version == VERSIONS and s.status == "published" for s in states)

    wait_until(settled, timeout=WAIT, what="every article published at its highest version")
    stack.es.indices.refresh(index=stack.names.articles)
    assert (
        stack.es.count(index=stack.names.articles, query={"term": {"newsroom": written.newsroom}})["count"] == ARTICLES
    )
    for n, (uid, state) in enumerate(zip(uids, store.get_many(uids), strict=True)):
        hits = stack.es.search(
            index=stack.names.articles, query={"term": {"external_id": f"scale-{written.nonce}-{n}"}}, size=5
        )["hits"]["hits"]
        assert [h["_id"] for h in hits] == [uid]
        doc = hits[0]["_source"]
        assert doc["version"] == VERSIONS and doc["title"] == written.article(n, VERSIONS)["title"]
        # The state names the revision Elasticsearch holds, and a worker applied it.
        assert doc["revision"] == state.revision
        assert int(state.fields["applied_revision"]) == state.revision
        assert state.fields["title"] == doc["title"]

    # The highest version again, to either ingest: nothing to do.
    for which, url in enumerate(scaled.ingests):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {written.key}"}, timeout=30) as ingest:
            for n in range(which, ARTICLES, 2):
                again = ingest.post("/v1/articles", json=written.article(n, VERSIONS))
                assert again.status_code == 200 and again.json()["result"] == "unchanged", again.text


# ---------------------------------------------------------------------------- (b) two index and two related workers


def _succeeded(proc: Proc, task: str) -> int:
    """Tasks of this name the worker ran to success (Celery's own log line for each)."""
    return sum(1 for line in proc.log().splitlines() if f"Task {task}[" in line and "succeeded" in line)


def test_two_index_and_two_related_workers_compute_every_list_once_and_dead_letter_nothing(
    scaled: Scaled, written: Written
) -> None:
    stack = scaled.stack
    store = scaled.store()
    uids = written.uids()
    wait_until(
        lambda: all(s.status == "published" for s in store.get_many(uids)), timeout=WAIT, what="articles published"
    )

    def current(uid: str) -> bool:
        article = stack.es.get(index=stack.names.articles, id=uid, source_includes=["revision"])["_source"]
        got = stack.es.options(ignore_status=404).get(index=stack.names.related, id=uid)
        # Computed from the article as it finally is: the last computation to start is the one that stands.
        return bool(got.get("found")) and got["_source"]["source_revision"] == article["revision"]

    wait_until(
        lambda: all(current(uid) for uid in uids), timeout=WAIT, what="every list computed from the last revision"
    )
    # No refresh still pending for these articles, so the lists checked are the ones that stay.
    pending = [f"{stack.prefix}:related:pending:{uid}" for uid in uids]
    wait_until(lambda: not stack.redis.exists(*pending), timeout=WAIT, what="no related work pending")
    assert all(current(uid) for uid in uids)

    lists = stack.es.mget(index=stack.names.related, ids=uids)["docs"]
    assert [d["_id"] for d in lists if d.get("found")] == uids  # one list per article
    for doc in lists:
        related = doc["_source"]["related_uids"]
        assert len(related) == len(set(related)) and doc["_id"] not in related
        # The stories are each other's closest neighbours: lists are made of them.
        assert set(related) & set(uids), related
    assert not [s.uid for s in store.get_many(uids) if s.status == "failed"]
    depths = queue_depths(broker_url=stack.settings.broker_url, prefix=stack.prefix)
    assert depths[Queues(stack.prefix).dead_letter] == 0
    # Both workers of each kind took work from the shared queue.
    assert all(_succeeded(p, TASK_INDEX_EVENTS) for p in scaled.index_workers), [p.tail() for p in scaled.index_workers]
    assert all(
        _succeeded(p, TASK_RELATED_COMPUTE) + _succeeded(p, TASK_RELATED_REFRESH) for p in scaled.related_workers
    ), [p.tail() for p in scaled.related_workers]


# ------------------------------------------------------------------------------------- (c) two publish processes


def _purged_pages(proc: Proc, since: int) -> int:
    """Pages this publish process evicted on purge notices, from its log after character `since`."""
    pages = 0
    for line in proc.log()[since:].splitlines():
        if "page_cache.purged" in line:
            pages += int(json.loads(line[line.index("{") :]).get("pages", 0))
    return pages


def test_a_withdrawal_empties_the_page_cache_of_every_publish_process(scaled: Scaled) -> None:
    newsroom = f"page-{uuid.uuid4().hex[:6]}"
    key = scaled.key(newsroom)
    store = scaled.store()
    external_id = f"tarik-{uuid.uuid4().hex[:6]}"
    uid = article_uid(newsroom, external_id)
    article = {
        "external_id": external_id,
        "title": "Gubernur meresmikan jembatan gantung di lereng gunung",
        "body": "<p>Jembatan gantung sepanjang 80 meter menghubungkan dua desa yang terpisah sungai.</p>",
        "section": "Daerah",
        "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    ingests = [httpx.Client(base_url=u, headers={"Authorization": f"Bearer {key}"}, timeout=30) for u in scaled.ingests]
    readers = [httpx.Client(base_url=url, timeout=30) for _, url in scaled.publishes]
    try:
        assert ingests[0].post("/v1/articles", json=article).status_code == 202
        wait_until(lambda: store.get(uid).status == "published", timeout=WAIT, what="the article published")
        path = store.get(uid).fields["path"]
        # Publishing sent a purge notice too: pages showing the story are not cached while it settles.
        time.sleep(SETTLE * 1.5)
        for reader in readers:  # the second read comes from the process's page cache (kept 300 s here)
            assert [reader.get(path).status_code for _ in range(2)] == [200, 200]
        logged = [len(proc.log()) for proc, _ in scaled.publishes]

        # Withdrawn through the other ingest; both publish processes must drop their copy, not wait 300 s.
        assert ingests[1].post(f"/v1/articles/{external_id}/unpublish").status_code == 202

        def gone() -> bool:
            return all(reader.get(path).status_code == 410 for reader in readers)

        wait_until(gone, timeout=15, interval=0.2, what="410 from both publish processes")
        # Each had the page cached and evicted it on the purge notice (not on expiry: 300 s is far off).
        for (proc, _), since in zip(scaled.publishes, logged, strict=True):
            assert _purged_pages(proc, since) >= 1, proc.tail()
    finally:
        for client in [*ingests, *readers]:
            client.close()


# ----------------------------------------------------------------------------------- (d) limits across processes


def _one_window(needed: float = 10.0) -> None:
    """Start a burst early enough in a one-minute window to end in it (the limits count per minute)."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.1)


def test_the_newsroom_rate_limit_is_shared_by_every_ingest(scaled: Scaled) -> None:
    newsroom = f"limit-{uuid.uuid4().hex[:6]}"
    key = scaled.key(newsroom)
    clients = [httpx.Client(base_url=u, headers={"Authorization": f"Bearer {key}"}, timeout=30) for u in scaled.ingests]
    try:
        _one_window()
        statuses = [clients[i % 2].get("/v1/articles/tidak-ada").status_code for i in range(RATE_LIMIT + 1)]
    finally:
        for client in clients:
            client.close()
    # Half went to each process; a per-process count would have let all of them through.
    assert statuses[:RATE_LIMIT] == [404] * RATE_LIMIT and statuses[RATE_LIMIT] == 429


def test_moderation_login_attempts_are_limited_across_ingests(scaled: Scaled) -> None:
    # One reader address (uvicorn takes it from X-Forwarded-For on loopback) and one cookie jar, both ingests:
    # each attempt's form comes from one ingest and is posted to the other (its CSRF token is good there too).
    address = f"203.0.113.{random.randrange(1, 250)}"
    limit = 10  # KABAR_MODERATION_LOGIN_PER_MINUTE's default
    statuses = []
    with httpx.Client(headers={"X-Forwarded-For": address}, timeout=30) as browser:
        _one_window()
        for attempt in range(limit + 1):
            form = browser.get(f"{scaled.ingests[attempt % 2]}/moderasi/masuk")
            assert form.status_code == 200
            token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            data = {"newsroom": "tidak-ada", "username": "tebak", "password": "salah-lagi", "csrf": token}
            statuses.append(browser.post(f"{scaled.ingests[(attempt + 1) % 2]}/moderasi/masuk", data=data).status_code)
    # 401: the form was good and the password wrong; the attempt past the limit is refused whichever ingest.
    assert statuses == [401] * limit + [429]


def test_a_comment_s_proof_of_work_is_spent_once_across_publish_processes(scaled: Scaled) -> None:
    newsroom = f"komentar-{uuid.uuid4().hex[:6]}"
    key = scaled.key(newsroom)
    external_id = f"komentar-{uuid.uuid4().hex[:6]}"
    uid = article_uid(newsroom, external_id)
    article = {
        "external_id": external_id,
        "title": "Warga menanam seribu pohon bakau di pantai timur",
        "body": "<p>Seribu bibit bakau ditanam warga bersama pelajar untuk menahan abrasi.</p>",
        "section": "Daerah",
        "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    with httpx.Client(base_url=scaled.ingests[0], headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest:
        assert ingest.post("/v1/articles", json=article).status_code == 202
    store = scaled.store()
    wait_until(lambda: store.get(uid).status == "published", timeout=WAIT, what="the article published")
    (_, first), (_, second) = scaled.publishes
    # The form (CSRF token and challenge) from one publish process, sent to the other: taken.
    cookie, data = prepared_post(first, uid, komentar="Semoga bakau ini tumbuh dan pantai kembali aman.")
    with httpx.Client(base_url=second, timeout=30, cookies={CSRF_COOKIE: cookie}) as reader:
        assert reader.post(f"/komentar/{uid}", data=data).status_code == 303
    # The same solved proof again, to the process that made the form: already spent.
    with httpx.Client(base_url=first, timeout=30, cookies={CSRF_COOKIE: cookie}) as reader:
        replay = reader.post(f"/komentar/{uid}", data=data)
    assert replay.status_code == 403 and "sudah dikirim" in replay.text


def test_every_process_stayed_up(scaled: Scaled) -> None:
    procs = [*(p for p, _ in scaled.ingest_procs + scaled.publishes), *scaled.index_workers, *scaled.related_workers]
    assert all(p.alive() for p in procs), [p.tail() for p in procs if not p.alive()]
