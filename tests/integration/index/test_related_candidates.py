"""The first stage's nets beyond wording, on the real Elasticsearch and Redis: what the newsroom's editors
linked lately, and its newest stories, as at publish time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from redis import Redis

from services.index.related import features, lists
from services.index.taskbase import TransientIndexError
from shared.es import IndexNames
from tests.integration.index.conftest import NEWSROOM, make_event, related_uids
from tests.stack import Proc, wait_until

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def test_linked_lately_is_newest_linking_first_and_as_at_publish_time(
    redis: Redis, names: IndexNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = f"links-{uuid.uuid4().hex[:8]}"
    lists.record_links(redis, names, {"newsroom": room, "published_at": _at(1)}, ["a", "b"])
    lists.record_links(redis, names, {"newsroom": room, "published_at": _at(2)}, ["c"])
    lists.record_links(redis, names, {"newsroom": room, "published_at": _at(3)}, ["a"])
    # An older article settled again later (a correction) does not make "c" look linked earlier than it was.
    lists.record_links(redis, names, {"newsroom": room, "published_at": _at(0)}, ["c"])
    assert lists.linked_lately(redis, names, room, before=None) == ["a", "c", "b"]
    # As at publish time: only links made by articles published strictly before it ("a" at 3 h is later).
    assert lists.linked_lately(redis, names, room, before=_at(3)) == ["c", "b"]
    assert lists.linked_lately(redis, names, room, before=_at(1)) == []
    assert lists.linked_lately(redis, names, f"{room}-other", before=None) == []
    # Bounded per newsroom: the oldest links go.
    monkeypatch.setattr(lists, "LINKED_KEPT", 2)
    lists.record_links(redis, names, {"newsroom": room, "published_at": _at(4)}, ["d"])
    assert lists.linked_lately(redis, names, room, before=None) == ["d", "a"]


def _candidates(
    es: Elasticsearch, names: IndexNames, redis: Redis, article: dict[str, Any], *, earlier_only: bool
) -> dict[str, features.Candidate]:
    """The first stage's candidates of an article with no words of its own (an empty profile), by uid."""
    profile = features.Profile(uid=article["uid"])
    found = lists.candidates(
        es=es, names=names, article=article, profile=profile, redis=redis, earlier_only=earlier_only
    )
    return {c.source["uid"]: c for c in found}


def _words(tag: str) -> str:
    # Words found in no other article: the net by wording cannot find these stories.
    return " ".join(f"w{tag}{i}" for i in range(12))


def test_candidates_hold_what_editors_linked_lately_though_it_shares_no_word(
    es: Elasticsearch,
    names: IndexNames,
    redis: Redis,
    worker: Proc,
    producer: Callable[..., None],
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.now(UTC)
    target_title = f"Jadwal lengkap siaran langsung {unique} malam ini"
    target = make_event(
        f"lately-t-{unique}",
        title=target_title,
        paragraphs=[_words(f"t{unique}")],
        section=f"Hiburan {unique}",
        published_at=now - timedelta(hours=3),
    )
    producer([target])
    wait_until(lambda: related_uids(es, names, target.uid) is not None, timeout=30, what="the target's list")
    source = make_event(
        f"lately-s-{unique}",
        title=f"Berita {unique} yang menautkan jadwal",
        paragraphs=[f"{_words(f's{unique}')} Baca juga: {target_title} {_words(f'x{unique}')}"],
        section=f"Olahraga {unique}",
        published_at=now - timedelta(hours=2),
    )
    producer([source])
    wait_until(
        lambda: target.uid in (related_uids(es, names, source.uid) or []), timeout=30, what="the editor's link pinned"
    )
    # The worker remembered the link for the newsroom.
    assert target.uid in lists.linked_lately(redis, names, NEWSROOM, before=None)

    # A new story in a third section sharing no word with the target: only the net of links finds it.
    monkeypatch.setattr(lists, "NEWSROOM_NEWEST", 0)
    monkeypatch.setattr(lists, "SECTION_NEWEST", 0)
    article = {
        "uid": f"lately-n-{unique}",
        "newsroom": NEWSROOM,
        "title": f"Kabar baru {unique}",
        "section": f"Daerah {unique}",
        "published_at": now.isoformat(),
    }
    by_uid = _candidates(es, names, redis, article, earlier_only=False)
    assert target.uid in by_uid
    assert by_uid[target.uid].linked_rank is not None and by_uid[target.uid].first_score == 0.0
    # Nor does a story's own link make it a candidate: served, it is pinned; as at publish time, an article
    # dated to the day only would find its own link before its cutoff (the end of its day).
    own = features.Profile(uid=article["uid"], editor_uids=[target.uid])
    found = lists.candidates(es=es, names=names, article=article, profile=own, redis=redis)
    assert target.uid not in {c.source["uid"] for c in found}
    # As at publish time, a story published before the link was made cannot have it from this net.
    earlier = {**article, "published_at": (now - timedelta(hours=2, minutes=30)).isoformat()}
    assert target.uid not in _candidates(es, names, redis, earlier, earlier_only=True)


def test_candidates_hold_the_newsroom_s_newest_from_other_sections(
    es: Elasticsearch, names: IndexNames, redis: Redis, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    other = make_event(
        f"newest-o-{unique}", title=_words(f"o{unique}"), paragraphs=[_words(f"ob{unique}")], section=f"Lain {unique}"
    )
    producer([other], related=False)
    wait_until(lambda: es.options(ignore_status=404).get(index=names.articles, id=other.uid).get("found"), timeout=20)
    es.indices.refresh(index=names.articles)
    article = {
        "uid": f"newest-n-{unique}",
        "newsroom": NEWSROOM,
        "title": f"Kabar baru {unique}",
        "section": f"Daerah {unique}",
        "published_at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    assert other.uid in _candidates(es, names, redis, article, earlier_only=True)


def test_a_failed_net_fails_the_list_rather_than_storing_a_partial_one(es: Elasticsearch, redis: Redis) -> None:
    # msearch answers each search apart: an error in one is in the body, not raised. A missing index stands in
    # for shards that are away; the task retries on TransientIndexError.
    article = {"uid": "x", "newsroom": NEWSROOM, "title": "t", "section": "s", "published_at": T0.isoformat()}
    with pytest.raises(TransientIndexError, match="related candidates by section"):
        _candidates(es, IndexNames(f"gone{uuid.uuid4().hex[:8]}"), redis, article, earlier_only=True)
