"""Short text fields refuse what XML cannot carry (feeds and sitemaps are XML): a 422 with a pointer."""

from __future__ import annotations

import uuid

import httpx
import pytest


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"])
@pytest.mark.parametrize("field", ["title", "section", "byline"])
def test_a_non_character_in_a_short_field_is_refused_with_a_pointer(
    ingest: httpx.Client, field: str, char: str
) -> None:
    article = {
        "external_id": f"nonchar-{uuid.uuid4().hex[:8]}",
        "title": "Banjir di Garut",
        "body": "<p>Warga mengungsi.</p>",
        field: f"Ekonomi{char}bisnis",
    }
    resp = ingest.post("/v1/articles", json=article)
    assert resp.status_code == 422, resp.text[:300]
    assert f"/{field}" in {e["pointer"] for e in resp.json()["errors"]}
    assert ingest.get(f"/v1/articles/{article['external_id']}").status_code == 404
