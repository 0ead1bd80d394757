"""The URL a newsroom is given is the URL its page answers 200 on, whatever the title holds.

Entities and markup in a title used to give ingest's answer one slug (from the raw title) and the
index another (from the tag-stripped one), so the URL handed out only worked through a 301.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from markupsafe import escape

from tests.stack import Proc, wait_until

# (title as the newsroom sends it, the title readers see)
TITLES = [
    ("Harga &amp; tarif <b>naik</b>", "Harga & tarif naik"),
    ("Kurs &lt;Rp&gt; 15.000", "Kurs <Rp> 15.000"),
    ("Kopi ☕ dan mi ayam 🍜 makin mahal", "Kopi ☕ dan mi ayam 🍜 makin mahal"),
    ("Café di Bogor: crème brûlée ala Jawa", "Café di Bogor: crème brûlée ala Jawa"),
]


def _published(ingest: httpx.Client, external_id: str) -> dict[str, Any] | None:
    state = ingest.get(f"/v1/articles/{external_id}").json()
    return state if state.get("status") == "published" else None


@pytest.mark.parametrize(("title", "shown"), TITLES, ids=["entity-markup", "escaped-brackets", "emoji", "diacritics"])
def test_given_url_answers_200_directly(
    ingest: httpx.Client, publish: httpx.Client, worker: Proc, title: str, shown: str
) -> None:
    external_id = f"url-{uuid.uuid4().hex[:12]}"
    article = {
        "external_id": external_id,
        "title": title,
        "section": "Ekonomi & Bisnis",
        "published_at": "2026-03-02T09:30:00+07:00",
        "body": "<p>Pemerintah mengumumkan penyesuaian harga mulai pekan depan.</p><p>Warga diminta bersiap.</p>",
    }
    accepted = ingest.post("/v1/articles", json=article)
    assert accepted.status_code == 202, accepted.text
    given = accepted.json()["url"]

    state = wait_until(lambda: _published(ingest, external_id), timeout=20, what=f"{external_id} published")
    assert isinstance(state, dict)
    assert state["url"] == given

    path = urlsplit(given).path
    page = publish.get(path)  # httpx follows no redirect unless asked: a 301 fails here
    assert page.status_code == 200, (path, page.status_code, page.headers.get("location"))
    assert f"<h1>{escape(shown)}</h1>" in page.text
    # The newsroom is told the title readers see, and no markup or entity name reaches the slug.
    assert state["title"] == shown
    assert not {"amp", "b", "lt", "gt"} & set(path.rsplit("/", 1)[1].split("-"))
