"""Everything is validated before a message is queued: a 2xx-bound write can never fail afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.ingest.test_articles import wait_status
from tests.stack import Proc

Make = Callable[..., dict[str, Any]]

# Each exists with its offset but not in UTC or in Jakarta time (the page's zone).
OVERFLOWING = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00", "9999-12-31T20:00:00+00:00"]


@pytest.mark.parametrize("field", ["published_at", "updated_at"])
@pytest.mark.parametrize("when", OVERFLOWING)
def test_times_that_overflow_are_422_and_nothing_is_stored(
    ingest: httpx.Client, new_article: Make, field: str, when: str
) -> None:
    article = new_article(**{field: when})
    resp = ingest.post("/v1/articles", json=article)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"][0]["pointer"] == f"/{field}"
    assert ingest.get(f"/v1/articles/{article['external_id']}").status_code == 404


def test_overflowing_time_in_bulk_rejects_only_that_item(ingest: httpx.Client, new_article: Make) -> None:
    good, bad = new_article(), new_article(published_at=OVERFLOWING[0])
    resp = ingest.post("/v1/articles:bulk", json=[good, bad])
    assert resp.status_code == 202, resp.text
    assert [i["result"] for i in resp.json()["items"]] == ["accepted", "rejected"]
    assert resp.json()["items"][1]["problem"]["errors"][0]["pointer"] == "/1/published_at"
    assert ingest.get(f"/v1/articles/{bad['external_id']}").status_code == 404


def test_epoch_millisecond_versions_through_bulk_stay_exact(
    ingest: httpx.Client, worker: Proc, new_article: Make
) -> None:
    """Redis 7.0 stored these revisions as 1.7825792e+18 and every later read answered 500."""
    articles = [new_article(version=1_700_000_000_000 + i) for i in range(2)]
    resp = ingest.post("/v1/articles:bulk", json=articles)
    assert resp.status_code == 202, resp.text
    for article, item in zip(articles, resp.json()["items"], strict=True):
        path = f"/v1/articles/{article['external_id']}"
        state = wait_status(ingest, path, "published")
        assert state["version"] == article["version"]
        assert state["revision"] == item["revision"] and state["revision"] >> 20 == article["version"]
        newer = ingest.post("/v1/articles", json={**article, "title": "Judul baru", "version": article["version"] + 1})
        assert newer.status_code == 202
        assert wait_status(ingest, path, "published")["version"] == article["version"] + 1
        stale = ingest.post("/v1/articles", json={**article, "title": "Judul lama"})
        assert stale.status_code == 409
