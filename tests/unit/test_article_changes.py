"""Embargo and corrections on the article, visibility of one document, and which change readers saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.index.indexing.indexer import ApplyResult, _seen_change, build_document, stamp_corrections
from shared.article import normalise, prepare
from shared.es import is_visible
from shared.events import ArticleChange, ArticleEvent, ChangeKind, Operation
from shared.models import ArticleIn

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _in(**fields: Any) -> ArticleIn:
    return ArticleIn.model_validate({"external_id": "a-1", "title": "Judul", "body": "<p>Isi.</p>", **fields})


def _upsert(article: ArticleIn, revision: int = 2) -> ArticleEvent:
    payload = normalise(newsroom="kabar", article=article, version=revision)
    return ArticleEvent(
        op=Operation.UPSERT,
        uid=payload.uid,
        newsroom="kabar",
        external_id="a-1",
        revision=revision,
        version=revision,
        article=prepare(payload),
    )


def _removal(op: Operation) -> ArticleEvent:
    return ArticleEvent(op=op, uid="u", newsroom="kabar", external_id="a-1", revision=9, version=9)


def test_an_embargoed_article_is_published_when_the_embargo_lifts_unless_told_otherwise() -> None:
    lifts = "2026-12-01T06:00:00+07:00"
    payload = normalise(newsroom="kabar", article=_in(embargo_until=lifts), version=1)
    assert payload.published_at == payload.embargo_until == datetime.fromisoformat(lifts)
    told = normalise(newsroom="kabar", article=_in(embargo_until=lifts, published_at="2026-11-30T10:00"), version=1)
    assert told.published_at.isoformat() == "2026-11-30T10:00:00+07:00"  # naive times are Jakarta time


def test_an_embargo_never_lifts_early_at_millisecond_precision() -> None:
    payload = normalise(newsroom="kabar", article=_in(embargo_until="2026-12-01T06:00:00.000001+07:00"), version=1)
    assert payload.embargo_until is not None and payload.embargo_until.isoformat() == "2026-12-01T06:00:00.001000+07:00"
    exact = normalise(newsroom="kabar", article=_in(embargo_until="2026-12-01T06:00:00.250+07:00"), version=1)
    assert exact.embargo_until is not None and exact.embargo_until.microsecond == 250000


def test_a_note_without_a_time_keeps_the_time_it_first_appeared() -> None:
    sent = [{"text": "Nama menteri diperbaiki."}]
    first = _upsert(_in(updated_at="2026-11-26T09:00:00+07:00", corrections=sent))
    again = normalise(
        newsroom="kabar", article=_in(updated_at="2026-11-26T09:00:00+07:00", corrections=sent), version=1
    )
    assert first.article is not None and first.article.corrections[0].at is None  # stamped when indexed
    assert (
        again.content_hash
        == normalise(
            newsroom="kabar", article=_in(updated_at="2026-11-26T09:00:00+07:00", corrections=sent), version=1
        ).content_hash
    )
    doc = stamp_corrections(build_document(first), before=None, event=first)
    assert doc["corrections"][0]["at"] == "2026-11-26T09:00:00+07:00"
    # The whole list resent with a new note, later: the old note keeps its time, the new one gets the update's.
    later = _upsert(
        _in(
            updated_at="2026-11-27T10:00:00+07:00",
            corrections=[*sent, {"text": "Angka diperbarui.", "kind": "clarification"}],
        ),
        revision=3,
    )
    stamped = stamp_corrections(build_document(later), before=doc, event=later)
    assert [n["at"] for n in stamped["corrections"]] == ["2026-11-26T09:00:00+07:00", "2026-11-27T10:00:00+07:00"]
    # No update time: the time ingest accepted it, the same on every redelivery.
    bare = _upsert(_in(corrections=[{"text": "Ralat.", "at": None}]))
    assert stamp_corrections(build_document(bare), before=None, event=bare)["corrections"][0]["at"] == (
        bare.accepted_at.isoformat()
    )


@pytest.mark.parametrize(
    "correction",
    [{"text": ""}, {"text": "x", "kind": "oops"}, {"text": "a\x00b"}, {"text": "x" * 2001}, {"text": "x", "by": 1}],
)
def test_bad_corrections_are_refused(correction: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _in(corrections=[correction])


def test_the_document_carries_embargo_and_corrections() -> None:
    doc = build_document(_upsert(_in(embargo_until="2026-12-01T06:00:00+07:00", corrections=[{"text": "Ralat."}])))
    assert doc["embargo_until"] == "2026-12-01T06:00:00+07:00"
    assert doc["corrections"][0]["text"] == "Ralat."


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ({"status": "published"}, True),
        ({"status": "published", "embargo_until": None}, True),
        ({"status": "published", "embargo_until": (NOW - timedelta(seconds=1)).isoformat()}, True),
        ({"status": "published", "embargo_until": NOW.isoformat()}, True),
        ({"status": "published", "embargo_until": (NOW + timedelta(seconds=1)).isoformat()}, False),
        ({"status": "withdrawn"}, False),
        ({"status": "deleted"}, False),
        (None, False),
        ({}, False),
    ],
)
def test_one_document_is_visible_exactly_when_the_readers_filter_matches_it(
    source: dict[str, Any] | None, visible: bool
) -> None:
    assert is_visible(source, NOW) is visible


def _seen(event: ArticleEvent, before: dict[str, Any] | None) -> ApplyResult:
    result = ApplyResult()
    after = build_document(event) if event.op == Operation.UPSERT else {**(before or {}), "status": event.op.status}
    _seen_change(result, event, before=before, after=after)
    return result


def test_change_kinds_are_what_readers_saw_change() -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    live = {"status": "published", "path": "/p", "title": "T"}
    kinds = {
        "new story": (_upsert(_in()), None),
        "update": (_upsert(_in()), live),
        "republished after withdrawal": (_upsert(_in()), {**live, "status": "withdrawn"}),
        "update after a lifted embargo": (_upsert(_in()), {**live, "embargo_until": past}),
        "embargo dropped before it lifted": (_upsert(_in()), {**live, "embargo_until": future}),
        "withdrawn": (_removal(Operation.WITHDRAW), live),
        "deleted while live": (_removal(Operation.DELETE), live),
        "deleted after withdrawal": (_removal(Operation.DELETE), {**live, "status": "withdrawn"}),
    }
    seen = {name: [c.kind for c in _seen(*case).changes] for name, case in kinds.items()}
    assert seen == {
        "new story": [ChangeKind.PUBLISHED],
        "update": [ChangeKind.UPDATED],
        "republished after withdrawal": [ChangeKind.PUBLISHED],
        "update after a lifted embargo": [ChangeKind.UPDATED],
        "embargo dropped before it lifted": [ChangeKind.PUBLISHED],
        "withdrawn": [ChangeKind.WITHDRAWN],
        "deleted while live": [ChangeKind.DELETED],
        "deleted after withdrawal": [ChangeKind.DELETED],
    }


def test_changes_readers_never_saw_are_not_told() -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()
    embargoed = _seen(_upsert(_in(embargo_until=future)), None)
    assert embargoed.changes == [] and list(embargoed.embargoed.values()) == [datetime.fromisoformat(future)]
    hidden = {"status": "published", "embargo_until": future}
    assert _seen(_removal(Operation.WITHDRAW), hidden).changes == []  # an unpublish before the embargo lifted
    assert _seen(_removal(Operation.WITHDRAW), None).changes == []
    assert _seen(_removal(Operation.DELETE), {"status": "deleted"}).changes == []


def test_a_change_is_named_the_same_however_often_it_is_told() -> None:
    event = _upsert(_in(), revision=5)
    one, two = (_seen(event, None).changes[0] for _ in range(2))
    assert one.event_id == two.event_id == f"{event.uid}-5-published"
    assert ArticleChange.model_validate(one.model_dump(mode="json")).event_id == one.event_id
