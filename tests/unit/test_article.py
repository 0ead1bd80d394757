"""The prepared article: worked out once at ingest, and a V1 event read as the V2 event it stands for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.index.indexing.indexer import build_document
from shared.article import normalise, prepare, prepare_article
from shared.events import ArticleEvent, ArticleEventV1, ArticleEventV2, Operation
from shared.models import ArticleIn

BODY = (
    "<p>Harga &amp; tarif naik</p>"  # the headline repeated above the story, as scraped pages have it
    "<p>Pemerintah menaikkan tarif listrik mulai <b>Senin</b>.</p>"
    '<p>Baca juga: <a href="https://kabar.example/ekonomi/x-0123456789abcdef">Subsidi dicabut</a></p>'
    "<p>SCROLL TO CONTINUE WITH CONTENT</p>"
    "<blockquote><p>Kami sudah siap.</p></blockquote>"
)


def _article(**fields: Any) -> ArticleIn:
    return ArticleIn.model_validate(
        {
            "external_id": "art-1",
            "title": "Harga &amp; tarif <b>naik</b>",
            "dek": "<i>Tarif</i> baru &amp; lama",
            "body": BODY,
            "section": "Ekonomi & Bisnis",
            "published_at": "2026-03-01T23:30:00+00:00",  # 2 March in Jakarta
            "related": [{"external_id": "other-1"}],
            "editor_related_titles": ["Tarif air juga naik"],
            **fields,
        }
    )


def _v1_message(article: ArticleIn) -> dict[str, Any]:
    """A V1 message as an ingest of the previous release queued it (JSON, as it sits in RabbitMQ)."""
    payload = normalise(newsroom="kabar", article=article, version=3)
    event = ArticleEventV1(
        op=Operation.UPSERT,
        uid=payload.uid,
        newsroom="kabar",
        external_id=payload.external_id,
        revision=7,
        version=3,
        article=payload,
        request_id="req-1",
    )
    return event.model_dump(mode="json")


def test_title_and_path_are_decided_from_the_text_readers_see() -> None:
    prepared = prepare_article(newsroom="kabar", article=_article(), version=1)
    assert prepared.title == "Harga & tarif naik"
    assert prepared.slug == "harga-tarif-naik"
    assert prepared.section_slug == "ekonomi-bisnis"
    assert prepared.path == f"/ekonomi-bisnis/2026/03/02/harga-tarif-naik-{prepared.uid}"
    assert prepared.dek == "Tarif baru & lama"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Kurs &lt;Rp&gt; 15.000", "kurs-rp-15-000"),
        ("Kopi ☕ dan mi ayam 🍜", "kopi-dan-mi-ayam"),
        ("Café crème brûlée", "cafe-creme-brulee"),
        ("🍜🍜", "artikel"),
    ],
)
def test_slug_of_entities_emoji_and_diacritics(title: str, slug: str) -> None:
    prepared = prepare_article(newsroom="kabar", article=_article(title=title), version=1)
    assert prepared.slug == slug
    assert prepared.path.endswith(f"/{slug}-{prepared.uid}")


def test_body_is_cleaned_once_and_the_inline_link_kept() -> None:
    prepared = prepare_article(newsroom="kabar", article=_article(), version=1)
    html = prepared.body_html
    assert "Pemerintah menaikkan tarif listrik mulai <b>Senin</b>." in html
    assert "<blockquote><p>Kami sudah siap.</p></blockquote>" in html
    for gone in ("Harga", "Baca juga", "Subsidi dicabut", "SCROLL"):
        assert gone not in html
    assert prepared.body_text == "Pemerintah menaikkan tarif listrik mulai Senin .\n\nKami sudah siap."
    assert [link.model_dump(exclude_none=True) for link in prepared.editor_links] == [
        {"external_id": "other-1"},
        {"title": "Tarif air juga naik"},
        {"title": "Subsidi dicabut", "url": "https://kabar.example/ekonomi/x-0123456789abcdef", "inline": True},
    ]


def test_v1_message_is_read_as_the_v2_event_ingest_now_sends() -> None:
    article = _article()
    message = _v1_message(article)
    assert message["schema_version"] == 1

    event = ArticleEvent.model_validate(message)

    assert isinstance(event, ArticleEventV2) and event.schema_version == 2
    assert (event.event_id, event.revision, event.version, event.request_id) == (
        message["event_id"],
        7,
        3,
        "req-1",
    )
    assert event.accepted_at == datetime.fromisoformat(message["accepted_at"])
    # The same shared function: the V1 payload prepares to exactly what ingest puts in a V2 event,
    # except the receiving time (published_at was given, so none is filled in).
    assert event.article == prepare_article(newsroom="kabar", article=article, version=3)


def test_v1_and_v2_give_the_same_document() -> None:
    article = _article()
    from_v1 = build_document(ArticleEvent.model_validate(_v1_message(article)))
    v2 = ArticleEventV2(
        op=Operation.UPSERT,
        uid=from_v1["uid"],
        newsroom="kabar",
        external_id="art-1",
        revision=7,
        version=3,
        article=prepare_article(newsroom="kabar", article=article, version=3),
    )
    from_v2 = build_document(ArticleEvent.model_validate(v2.model_dump(mode="json")))
    varying = {"indexed_at", "accepted_at"}
    assert {k: v for k, v in from_v1.items() if k not in varying} == {
        k: v for k, v in from_v2.items() if k not in varying
    }
    assert from_v2["path"].endswith("/harga-tarif-naik-" + from_v2["uid"])
    assert {"external_id": "other-1"} in from_v2["editor_related"]


def test_v1_removal_has_no_article_to_prepare() -> None:
    message = ArticleEventV1(
        op=Operation.WITHDRAW, uid="0123456789abcdef", newsroom="kabar", external_id="x", revision=2, version=1
    ).model_dump(mode="json")
    event = ArticleEvent.model_validate(message)
    assert event.schema_version == 2 and event.article is None and event.op == Operation.WITHDRAW


def test_unknown_schema_version_is_refused() -> None:
    message = {**_v1_message(_article()), "schema_version": 3}
    with pytest.raises(ValidationError):
        ArticleEvent.model_validate(message)


def test_v1_payload_in_process_is_prepared_too() -> None:
    """A builder still handing over the normalised payload (as benches did) gets the same prepared article."""
    payload = normalise(newsroom="kabar", article=_article(), version=1)
    event = ArticleEvent(
        op=Operation.UPSERT,
        uid=payload.uid,
        newsroom="kabar",
        external_id="art-1",
        revision=1,
        version=1,
        article=payload,  # type: ignore[arg-type]
    )
    assert event.article == prepare(payload)


def test_receiving_time_is_kept_when_the_newsroom_sent_none() -> None:
    payload = normalise(newsroom="kabar", article=_article(published_at=None), version=1)
    assert prepare(payload).published_at == payload.published_at
    assert payload.published_at.tzinfo is not None and payload.published_at <= datetime.now(UTC)
