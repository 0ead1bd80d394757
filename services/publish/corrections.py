"""An article's correction and update notes as readers see them: on the page, in its JSON-LD and in feeds.

The newsroom sends the whole list with each update (shared/models.py Correction); the worker stores it on
the document with every note's time filled in. Notes are plain text: templates escape them, feeds go
through the XML writer.
"""

from __future__ import annotations

from typing import Any

from services.publish.formatting import note_datetime, parse_dt
from services.publish.i18n import MESSAGES, translator


def note_locale(article: dict[str, Any], page_locale: str) -> str:
    """An English article's notes are in English whatever the page's language; others follow the page."""
    language = (article.get("language") or "").split("-")[0]
    return "en" if language == "en" and "en" in MESSAGES else page_locale


def notes(article: dict[str, Any], *, locale: str) -> list[dict[str, Any]]:
    """Each note with its label ("Koreksi"/"Pembaruan") and its time as readers read it, in the order sent."""
    t = translator(locale)
    return [
        {
            "kind": note.get("kind") or "correction",
            "label": t("clarification" if note.get("kind") == "clarification" else "correction"),
            "at": note.get("at"),
            "when": note_datetime(note.get("at"), locale=locale),
            "text": note.get("text") or "",
        }
        for note in article.get("corrections") or []
        if note.get("text")
    ]


def latest_note(article: dict[str, Any], *, locale: str) -> dict[str, Any] | None:
    """The most recent note (by its time; the last sent among equals), if there is one."""
    shown = notes(article, locale=locale)
    if not shown:
        return None
    return max(enumerate(shown), key=_sort_key)[1]


def _sort_key(pair: tuple[int, dict[str, Any]]) -> tuple[float, int]:
    when = parse_dt(pair[1]["at"])
    return (when.timestamp() if when else 0.0, pair[0])


def note_line(note: dict[str, Any]) -> str:
    """'Koreksi (26 November 2026 14.05 WIB): …', the form a feed item starts with."""
    when = f" ({note['when']})" if note["when"] else ""
    return f"{note['label']}{when}: {note['text']}"


def modified_at(article: dict[str, Any]) -> str | None:
    """When the article last changed for readers: updated_at or its latest note's time, whichever is later."""
    stamps = [article.get("updated_at"), *(n.get("at") for n in article.get("corrections") or [])]
    parsed = [(dt, raw) for raw in stamps if raw and (dt := parse_dt(raw)) is not None]
    return max(parsed, key=lambda pair: pair[0])[1] if parsed else None
