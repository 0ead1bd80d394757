"""Embargoes on the real stack: never visible before the time on any reader path (publish and the edge),
everywhere within seconds after it, also when every worker was down across it; an update moves the time,
an unpublish cancels it; the newsroom sees `scheduled` until then."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from harness.procs import wait_until
from services.index.embargo.schedule import EmbargoSchedule
from shared.models import article_uid
from tests.integration.embargo.conftest import NEWSROOM, EmbargoStack
from tests.integration.embargo.readers import Story, Watch, letters, section_slug, watch

# Generous for a loaded CI machine; the freshness benchmark measures the real lag.
PAGES_WITHIN = 15.0
RELATED_WITHIN = 40.0


def _at(seconds: float) -> datetime:
    """A whole second at least `seconds` ahead (Elasticsearch keeps milliseconds: no rounding at the edge)."""
    return datetime.fromtimestamp(math.ceil(time.time() + seconds), UTC)


def _body(word: str, topic: str) -> list[str]:
    return [
        f"Warga kampung {word} menolak rencana tambang pasir di tepi sungai {word} pada {topic}.",
        f"Kepala desa {word} mengatakan penambangan itu merusak sawah dan sumur warga {word}.",
        f"Pemerintah kabupaten berjanji meninjau ulang izin tambang {word} pekan depan.",
    ]


def _neighbour(newsroom: httpx.Client, stack: EmbargoStack, *, word: str, links_to: str) -> str:
    """A published story on the same topic whose editors link the embargoed one by title (pending till then)."""
    external_id = f"tetangga-{word}"
    answer = newsroom.post(
        "/v1/articles",
        json={
            "external_id": external_id,
            "title": f"Sengketa tambang pasir {word} memanas",
            "body_paragraphs": _body(word, "Senin"),
            "section": "Nasional",
            "related": [{"title": links_to}],
        },
    )
    assert answer.status_code == 202, answer.text
    uid = answer.json()["uid"]

    def listed() -> bool:
        got = stack.es.options(ignore_status=404).get(index=stack.names.related, id=uid)
        return bool(got.get("found") and got["_source"].get("pending_links"))

    wait_until(listed, timeout=30, what="the neighbour's list, its link to the embargoed story pending")
    return uid


def _embargoed(newsroom: httpx.Client, *, word: str, until: datetime, **extra: Any) -> tuple[dict[str, Any], Story]:
    title = f"Tambang pasir {word} resmi ditutup bupati"
    section = f"Rubrik {word}"
    answer = newsroom.post(
        "/v1/articles",
        json={
            "external_id": f"embargo-{word}",
            "title": title,
            "body_paragraphs": _body(word, "Selasa"),
            "section": section,
            "embargo_until": until.isoformat(),
            **extra,
        },
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    path = "/" + body["url"].split("://", 1)[1].split("/", 1)[1]
    return body, Story(uid=body["uid"], path=path, word=word, title=title, section_slug=section_slug(section))


def _state(newsroom: httpx.Client, external_id: str) -> dict[str, Any]:
    response = newsroom.get(f"/v1/articles/{external_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _wait_state(newsroom: httpx.Client, external_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    return wait_until(
        lambda: (s := _state(newsroom, external_id))["status"] == status and s,
        timeout=timeout,
        what=f"{external_id} {status}",
    )


def _await_all(readers: Watch, timeout: float) -> None:
    """Wait until every reader saw the story, or the time is up (the test then says which did not)."""
    deadline = time.time() + timeout
    while readers.missing() and time.time() < deadline:
        time.sleep(0.2)


def _related_uids(stack: EmbargoStack, uid: str) -> list[str]:
    got = stack.es.options(ignore_status=404).get(index=stack.names.related, id=uid)
    return [i["uid"] for i in got["_source"].get("items", [])] if got.get("found") else []


def _schedule(stack: EmbargoStack) -> EmbargoSchedule:
    return EmbargoSchedule(stack.redis, stack.prefix)


def _embargoed_near_a_neighbour(
    stack: EmbargoStack, newsroom: httpx.Client, *, word: str, seconds: float
) -> tuple[dict[str, Any], Story, datetime]:
    """A published neighbour whose editors link the story's title, then the story embargoed `seconds` ahead."""
    neighbour = _neighbour(newsroom, stack, word=word, links_to=f"Tambang pasir {word} resmi ditutup bupati")
    until = _at(seconds)
    accepted, story = _embargoed(newsroom, word=word, until=until)
    story.neighbour = neighbour
    return accepted, story, until


def test_an_embargo_lifts_on_time_everywhere_and_never_early(
    stack: EmbargoStack, newsroom: httpx.Client, unique: str
) -> None:
    word = letters(unique)
    accepted, story, until = _embargoed_near_a_neighbour(stack, newsroom, word=word, seconds=5)
    release = until.timestamp()
    neighbour = story.neighbour
    assert neighbour is not None
    with watch(story, publish_url=stack.publish_url, edge_url=stack.edge_url) as readers:
        # The newsroom sees it scheduled, with its time, and no public URL yet.
        state = _wait_state(newsroom, f"embargo-{word}", "scheduled")
        assert datetime.fromisoformat(state["embargo_until"]) == until
        assert state["url"] is None
        assert _schedule(stack).when(story.uid) == release
        assert time.time() < release, "the set-up took longer than the embargo: nothing was proven"
        # Before the time: the editors' link stays pending, the neighbour's stored list never names it.
        assert story.uid not in _related_uids(stack, neighbour)
        _await_all(readers, release - time.time() + RELATED_WITHIN)
    assert readers.early(release) == {}, f"shown before the embargo lifted: {readers.early(release)}"
    assert not readers.missing(), f"never shown: {readers.missing()} (errors: {readers.errors[-5:]})"
    late = {k: round(t - release, 2) for k, t in readers.first_seen.items()}
    print(f"seconds after the release each reader first saw the story: {late}")
    slow = {k: s for k, s in late.items() if s > PAGES_WITHIN and "related" not in k}
    assert not slow, f"shown too late after the embargo lifted: {slow} (all: {late})"
    assert readers.polls > 10
    # The release ran: the schedule is empty, the neighbour pins the story, the newsroom sees it published.
    assert _schedule(stack).when(story.uid) is None
    assert story.uid in _related_uids(stack, neighbour)
    published = _state(newsroom, f"embargo-{word}")
    assert published["status"] == "published" and published["url"] == accepted["url"]


def test_workers_down_across_the_release_it_appears_once_they_are_back(
    stack: EmbargoStack, newsroom: httpx.Client, unique: str
) -> None:
    word = letters(unique)
    _, story, until = _embargoed_near_a_neighbour(stack, newsroom, word=word, seconds=2)
    release = until.timestamp()
    neighbour = story.neighbour
    assert neighbour is not None
    try:
        with watch(story, publish_url=stack.publish_url, edge_url=None) as readers:
            _wait_state(newsroom, f"embargo-{word}", "scheduled", timeout=release - time.time())
            stack.kill_workers()
            assert time.time() < release, "the workers were stopped after the release: nothing was proven"
            # Readers' queries need no worker: pages and search show the story at its time.
            wait_until(lambda: readers.first_seen.get("publish: article page"), timeout=release - time.time() + 10)
            time.sleep(max(0.0, release + 2 - time.time()))
            # Nothing followed without workers: the release waits in the schedule, no list has it.
            assert _schedule(stack).when(story.uid) == release
            assert story.uid not in _related_uids(stack, neighbour)
            assert "publish: neighbour's related list" not in readers.first_seen
            restarted = time.time()
            stack.start_workers()
            _await_all(readers, RELATED_WITHIN)
    finally:
        stack.start_workers()
    assert readers.early(release) == {}, f"shown before the embargo lifted: {readers.early(release)}"
    assert not readers.missing(), f"never shown: {readers.missing()} (errors: {readers.errors[-5:]})"
    assert readers.first_seen["publish: neighbour's related list"] > restarted
    wait_until(lambda: _schedule(stack).when(story.uid) is None, timeout=10, what="the release sent")
    assert story.uid in _related_uids(stack, neighbour)
    _wait_state(newsroom, f"embargo-{word}", "published", timeout=5)


def test_an_update_moves_the_time_later(stack: EmbargoStack, newsroom: httpx.Client, unique: str) -> None:
    word = letters(unique)
    first = _at(3)
    _, story = _embargoed(newsroom, word=word, until=first)
    later = first + timedelta(seconds=4)
    with watch(story, publish_url=stack.publish_url, edge_url=stack.edge_url) as readers:
        _wait_state(newsroom, f"embargo-{word}", "scheduled")
        moved = newsroom.put(
            f"/v1/articles/embargo-{word}",
            json={
                "title": story.title,
                "body_paragraphs": _body(word, "Selasa"),
                "section": f"Rubrik {word}",
                "embargo_until": later.isoformat(),
                "version": 2,
            },
        )
        assert moved.status_code == 202, moved.text
        wait_until(
            lambda: _schedule(stack).when(story.uid) == later.timestamp(), timeout=first.timestamp() - time.time()
        )
        assert time.time() < first.timestamp(), "the update landed after the first time: nothing was proven"
        _await_all(readers, later.timestamp() - time.time() + PAGES_WITHIN)
    assert readers.early(later.timestamp()) == {}, f"shown before the moved time: {readers.early(later.timestamp())}"
    assert not readers.missing(), f"never shown: {readers.missing()} (errors: {readers.errors[-5:]})"
    assert datetime.fromisoformat(_state(newsroom, f"embargo-{word}")["embargo_until"]) == later


def test_an_unpublish_before_the_time_cancels_the_release(
    stack: EmbargoStack, newsroom: httpx.Client, unique: str
) -> None:
    word = letters(unique)
    until = _at(3)
    _, story = _embargoed(newsroom, word=word, until=until)
    with watch(story, publish_url=stack.publish_url, edge_url=stack.edge_url) as readers:
        _wait_state(newsroom, f"embargo-{word}", "scheduled")
        assert newsroom.post(f"/v1/articles/embargo-{word}/unpublish").status_code == 202
        _wait_state(newsroom, f"embargo-{word}", "withdrawn", timeout=until.timestamp() - time.time())
        # The schedule is written just after the state the newsroom reads, by the same task.
        wait_until(lambda: _schedule(stack).when(story.uid) is None, timeout=5)
        time.sleep(max(0.0, until.timestamp() + 3 - time.time()))
    assert readers.first_seen == {}, f"a cancelled story was shown: {readers.first_seen}"
    assert readers.polls > 5
    # No release side effects: no related list of its own, no release in the worker's log.
    assert not stack.es.options(ignore_status=404).get(index=stack.names.related, id=story.uid).get("found")
    released = [line for w in stack.workers for line in w.log().splitlines() if "embargo.release_done" in line]
    assert not [line for line in released if story.uid in line]
    assert _state(newsroom, f"embargo-{word}").get("embargo_until") is None


def test_ninjs_embargoed_and_bulk_schedule_the_same_way(
    stack: EmbargoStack, newsroom: httpx.Client, unique: str
) -> None:
    word = letters(unique)
    until = _at(3)
    uri = f"urn:newsml:kabar.test:{word}"
    item = {
        "uri": uri,
        "version": "1",
        "pubstatus": "usable",
        "embargoed": until.isoformat(),
        "headlines": [{"role": "main", "value": f"Sidang tambang pasir {word} ditunda"}],
        "bodies": [{"contenttype": "text/html", "value": f"<p>Hakim menunda sidang tambang {word}.</p>"}],
        "subjects": [{"name": "Hukum", "rel": "section"}],
    }
    answer = newsroom.post("/v1/ninjs", json=item)
    assert answer.status_code == 202, answer.text
    uid = answer.json()["uid"]
    bulk = newsroom.post(
        "/v1/articles:bulk",
        json=[
            {
                "external_id": f"bulk-{word}",
                "title": f"Banding tambang {word}",
                "body": "<p>Isi.</p>",
                "embargo_until": until.isoformat(),
            },
            # An embargo in the past is a normal publish.
            {
                "external_id": f"past-{word}",
                "title": f"Putusan tambang {word}",
                "body": "<p>Isi.</p>",
                "embargo_until": (until - timedelta(hours=1)).isoformat(),
            },
        ],
    )
    assert bulk.status_code == 202, bulk.text
    bulk_uid = article_uid(NEWSROOM, f"bulk-{word}")
    with httpx.Client(base_url=stack.publish_url, timeout=10) as publish:
        for external_id in (uri, f"bulk-{word}"):
            state = _wait_state(newsroom, external_id, "scheduled", timeout=until.timestamp() - time.time())
            assert datetime.fromisoformat(state["embargo_until"]) == until and state["url"] is None
        past = _wait_state(newsroom, f"past-{word}", "published")
        assert past["url"]
        assert publish.get(f"/api/v1/articles/{article_uid(NEWSROOM, f'past-{word}')}").status_code == 200
        # Before the time: 404 exactly like an unknown article (never 410), briefly cacheable.
        hidden = publish.get(f"/api/v1/articles/{uid}")
        unknown = publish.get("/api/v1/articles/0123456789abcdef")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.headers["cache-control"] == unknown.headers["cache-control"] == "public, max-age=1"
        assert time.time() < until.timestamp(), "the set-up took longer than the embargo: nothing was proven"
        for who in (uid, bulk_uid):
            path = f"/api/v1/articles/{who}"
            wait_until(
                lambda path=path: publish.get(path).status_code == 200,  # type: ignore[misc]
                timeout=until.timestamp() - time.time() + PAGES_WITHIN,
                what="released",
            )
    assert time.time() >= until.timestamp()
    _wait_state(newsroom, uri, "published", timeout=5)


def test_an_article_404_is_never_kept_past_a_second(stack: EmbargoStack) -> None:
    """Unknown or embargoed, the same answer: the edge keeps no stale copy an embargo could outlive."""
    with httpx.Client(base_url=stack.publish_url, timeout=10) as publish:
        page = publish.get("/berita/2026/01/01/judul-0123456789abcdef")
        assert page.status_code == 404
        assert page.headers["surrogate-control"] == "max-age=1, stale-while-revalidate=0, stale-if-error=0"
        assert page.headers["cache-control"] == "public, max-age=1"
