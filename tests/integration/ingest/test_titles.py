"""A title is what readers see once its markup is gone: one with no text left is refused at the door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Make = Callable[..., dict[str, Any]]


def test_markup_only_title_is_422_with_a_pointer(ingest: httpx.Client, new_article: Make) -> None:
    resp = ingest.post("/v1/articles", json=new_article(title="<b></b> <i> </i>"))
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"] == [{"pointer": "/title", "detail": "needs text outside tags"}]


def test_markup_only_title_is_rejected_alone_in_a_bulk(ingest: httpx.Client, new_article: Make) -> None:
    good, bad = new_article(), new_article(title="<span></span>")
    resp = ingest.post("/v1/articles:bulk", json=[good, bad])
    assert resp.status_code == 202, resp.text  # some accepted: the items say which
    first, second = resp.json()["items"]
    assert first["result"] == "accepted"
    assert second["result"] == "rejected"
    assert second["problem"]["errors"] == [{"pointer": "/1/title", "detail": "needs text outside tags"}]


def test_answer_gives_the_title_readers_see(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article(title="Harga &amp; tarif <b>naik</b>")
    assert ingest.post("/v1/articles", json=article).status_code == 202
    state = ingest.get(f"/v1/articles/{article['external_id']}").json()
    assert state["title"] == "Harga & tarif naik"
