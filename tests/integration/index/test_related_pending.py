"""Editors' links in flat text through the real worker: found mid-paragraph, the resolved title cut from
the indexed text, and a link to a story Kabar does not have yet kept pending until that story arrives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from shared.es import IndexNames
from tests.integration.index.conftest import make_event, related_uids
from tests.stack import Proc, wait_until


def _related(es: Elasticsearch, names: IndexNames, uid: str) -> dict[str, Any]:
    got = es.options(ignore_status=404).get(index=names.related, id=uid)
    return got["_source"] if got.get("found") else {}


def _flat_source(unique: str, target_title: str) -> list[str]:
    # One paragraph, as scraped archives hold it: the link title runs straight into the next sentence.
    return [
        f"Antrean kendaraan di gerbang tol {unique} mengular sejak pagi dan petugas menambah loket. "
        f"baca JUGA: {target_title} Setuju! Pengunggah video mengatakan antrean sudah terjadi sejak subuh "
        f"dan pengendara {unique} diminta bersabar."
    ]


def test_a_link_to_a_story_not_yet_in_kabar_resolves_when_it_arrives(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    target_title = f"Mulai Hari Ini, Tarif Tol {unique} Naik Rp 2.000"
    source = make_event(
        f"pend-src-{unique}",
        title=f"Antrean panjang di gerbang tol {unique}",
        paragraphs=_flat_source(unique, target_title),
    )
    producer([source])
    wait_until(lambda: _related(es, names, source.uid).get("pending_links"), timeout=20, what="the link kept pending")
    assert not [i for i in _related(es, names, source.uid)["items"] if i["kind"] == "editor"]

    # The target arrives later (an archive import in any order), published before the source.
    target = make_event(
        f"pend-tgt-{unique}",
        title=target_title,
        paragraphs=[f"Tarif tol {unique} naik mulai hari ini sesuai keputusan menteri."],
        published_at=datetime.now(UTC) - timedelta(days=1),
    )
    producer([target])

    def pinned() -> bool:
        items = _related(es, names, source.uid).get("items") or []
        return bool(items) and items[0]["uid"] == target.uid and items[0]["kind"] == "editor"

    wait_until(pinned, timeout=30, what="the source pins the target once it arrives")
    assert not _related(es, names, source.uid).get("pending_links")
    text = es.get(index=names.articles, id=source.uid)["_source"]["body_text"]
    # Exactly the title is cut (with its marker); the sentence that follows stays in the indexed text.
    assert "Tarif Tol" not in text and "baca JUGA" not in text
    assert "loket. Setuju! Pengunggah video" in text
    assert related_uids(es, names, source.uid).count(target.uid) == 1  # type: ignore[union-attr]


def test_a_link_to_a_known_story_is_cut_at_once(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    target_title = f"Gubernur Resmikan Jembatan {unique} di Sungai Musi"
    target = make_event(
        f"cut-tgt-{unique}",
        title=target_title,
        paragraphs=[f"Jembatan {unique} diresmikan gubernur pada Senin pagi."],
        published_at=datetime.now(UTC) - timedelta(days=2),
    )
    producer([target], related=False)
    wait_until(lambda: es.options(ignore_status=404).get(index=names.articles, id=target.uid).get("found"), timeout=20)
    es.indices.refresh(index=names.articles)
    # Diacritics, case and punctuation differ from the stored title: the resolution folds them.
    written = f"gubernur résmikan jembatan {unique} — di Sungai Musi"
    source = make_event(
        f"cut-src-{unique}", title=f"Lalu lintas {unique} lancar", paragraphs=_flat_source(unique, written)
    )
    producer([source])
    wait_until(lambda: related_uids(es, names, source.uid), timeout=20, what="the source's list")
    items = _related(es, names, source.uid)["items"]
    assert items[0]["uid"] == target.uid and items[0]["kind"] == "editor"
    text = es.get(index=names.articles, id=source.uid)["_source"]["body_text"]
    assert "Sungai Musi" not in text and "loket. Setuju! Pengunggah video" in text
