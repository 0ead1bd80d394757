"""Correction notes as readers see them: labels and times, the latest note, JSON-LD and feeds that stay valid."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.publish import feeds
from services.publish.corrections import latest_note, modified_at, note_line, note_locale, notes
from services.publish.views import json_ld

CORRECTION = {"kind": "correction", "text": "Nama sungai salah.", "at": "2026-11-26T14:05:00+07:00"}
CLARIFICATION = {"kind": "clarification", "text": "Angka diperbarui.", "at": "2026-11-26T07:30:00+00:00"}


def _article(**fields: Any) -> dict[str, Any]:
    return {
        "uid": "0123456789abcdef",
        "title": "Judul",
        "dek": "Dek berita.",
        "path": "/metro/2026/11/26/judul-0123456789abcdef",
        "language": "id",
        "published_at": "2026-11-26T08:00:00+07:00",
        "corrections": [CORRECTION, CLARIFICATION],
        **fields,
    }


def test_labels_and_indonesian_times() -> None:
    shown = notes(_article(), locale="id")
    assert [(n["label"], n["when"]) for n in shown] == [
        ("Koreksi", "26 November 2026 14.05 WIB"),
        ("Pembaruan", "26 November 2026 14.30 WIB"),
    ]
    assert note_line(shown[0]) == "Koreksi (26 November 2026 14.05 WIB): Nama sungai salah."
    english = notes(_article(), locale="en")
    assert (english[0]["label"], english[0]["when"]) == ("Correction", "26 November 2026 14:05 WIB")


def test_english_article_notes_are_english_on_any_page() -> None:
    assert note_locale(_article(language="en"), "id") == "en"
    assert note_locale(_article(language="en-GB"), "id") == "en"
    assert note_locale(_article(), "id") == "id"
    assert note_locale(_article(), "en") == "en"


def test_latest_note_and_modified_time() -> None:
    article = _article(updated_at="2026-11-26T09:00:00+07:00")
    assert latest_note(article, locale="id")["kind"] == "clarification"  # type: ignore[index]
    assert modified_at(article) == CLARIFICATION["at"]
    later = _article(updated_at="2026-11-26T16:00:00+07:00")
    assert modified_at(later) == "2026-11-26T16:00:00+07:00"
    assert modified_at(_article(corrections=[])) is None
    assert latest_note(_article(corrections=[]), locale="id") is None


def test_json_ld_carries_corrections_and_cannot_close_its_script() -> None:
    evil = {"kind": "correction", "text": "</script><script>alert(1)</script>", "at": CORRECTION["at"]}
    text = json_ld(_article(corrections=[evil]), canonical="http://x/a", image=None, site_name="K", base_url="http://x")
    assert "</script" not in text
    data = json.loads(text)
    assert data["correction"] == [
        {"@type": "CorrectionComment", "text": evil["text"], "datePublished": CORRECTION["at"]}
    ]
    assert data["dateModified"] == CORRECTION["at"]
    plain = json.loads(
        json_ld(_article(corrections=[]), canonical="http://x/a", image=None, site_name="K", base_url="http://x")
    )
    assert "correction" not in plain and plain["dateModified"] == plain["datePublished"]


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=200), kind=st.sampled_from(["correction", "clarification"]))
def test_feeds_with_any_note_text_stay_well_formed(text: str, kind: str) -> None:
    article = _article(corrections=[{"kind": kind, "text": text, "at": CORRECTION["at"]}])
    rss = feeds.rss(
        items=[article], title="K", link="http://x/", self_url="http://x/rss.xml", base_url="http://x", language="id"
    )
    atom = feeds.atom(items=[article], title="K", link="http://x/", self_url="http://x/atom.xml", base_url="http://x")
    item = etree.fromstring(rss).find("channel/item")
    assert item is not None
    label = "Koreksi" if kind == "correction" else "Pembaruan"
    assert (item.findtext("description") or "").startswith(f"{label} (26 November 2026 14.05 WIB): ")
    assert item.findtext("{http://www.w3.org/2005/Atom}updated") == "2026-11-26T14:05:00+07:00"
    entry = etree.fromstring(atom).find("{http://www.w3.org/2005/Atom}entry")
    assert entry is not None
    assert entry.findtext("{http://www.w3.org/2005/Atom}updated") == "2026-11-26T14:05:00+07:00"
