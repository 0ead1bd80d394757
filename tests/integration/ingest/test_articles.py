"""Create, replace, replay, versions, state, unpublish and delete against the real ingest process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.stack import Proc, wait_until

Make = Callable[..., dict[str, Any]]


def test_create_then_replay_is_unchanged_with_same_answer(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article(version=3)
    first = ingest.post("/v1/articles", json=article)
    assert first.status_code == 202, first.text
    again = ingest.post("/v1/articles", json=article)
    assert again.status_code == 200
    # The same write; only the pipeline status (and the URL once indexed) may have moved on meanwhile.
    moving = {"status", "url"}
    assert {k: v for k, v in again.json().items() if k not in moving} == {
        **{k: v for k, v in first.json().items() if k not in moving},
        "result": "unchanged",
    }
    assert again.json()["status"] in {"accepted", "published"}


def test_older_version_is_409_with_stored_version(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article(version=5)
    assert ingest.post("/v1/articles", json=article).status_code == 202
    stale = ingest.post("/v1/articles", json={**article, "version": 4, "title": "Versi lama"})
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["stored_version"] == 5
    same_version_other_text = ingest.post("/v1/articles", json={**article, "title": "Lain"})
    assert same_version_other_text.status_code == 409
    newer = ingest.post("/v1/articles", json={**article, "version": 6, "title": "Versi baru"})
    assert newer.status_code == 202
    assert newer.json()["version"] == 6


def test_out_of_order_versions_keep_the_newest(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article()
    for version in (2, 1, 3, 2):
        ingest.post("/v1/articles", json={**article, "version": version, "title": f"v{version}"})
    state = ingest.get(f"/v1/articles/{article['external_id']}").json()
    assert state["version"] == 3
    assert state["title"] == "v3"


def test_put_uses_the_path_id_and_refuses_a_mismatch(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article()
    external_id = article.pop("external_id")
    created = ingest.put(f"/v1/articles/{external_id}", json=article)
    assert created.status_code == 202, created.text
    assert created.json()["external_id"] == external_id
    mismatch = ingest.put(f"/v1/articles/{external_id}", json={**article, "external_id": "something-else"})
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["pointer"] == "/external_id"
    bad_path = ingest.put("/v1/articles/%20bad%20id", json=article)
    assert bad_path.status_code == 422
    assert bad_path.json()["errors"][0]["pointer"] == "/external_id"


def test_state_shows_status_timestamps_and_absolute_url_once_indexed(
    ingest: httpx.Client, worker: Proc, new_article: Make
) -> None:
    article = new_article()
    accepted = ingest.post("/v1/articles", json=article)
    assert accepted.status_code == 202
    path = f"/v1/articles/{article['external_id']}"

    def indexed() -> dict[str, Any] | None:
        state = ingest.get(path).json()
        return state if state["status"] == "published" else None

    state = wait_until(indexed, timeout=20, what="article indexed")
    assert isinstance(state, dict)
    assert state["version"] == 1
    assert state["accepted_at"] and state["indexed_at"]
    assert state["url"].startswith("http") and state["url"].endswith(accepted.json()["uid"])


def test_unpublish_then_delete(ingest: httpx.Client, worker: Proc, new_article: Make) -> None:
    article = new_article(version=2)
    assert ingest.post("/v1/articles", json=article).status_code == 202
    path = f"/v1/articles/{article['external_id']}"
    withdrawn = ingest.post(f"{path}/unpublish")
    assert withdrawn.status_code == 202
    assert withdrawn.json()["result"] == "accepted"
    assert withdrawn.json().get("url") is None
    assert ingest.post(f"{path}/unpublish").status_code == 200  # a replay changes nothing
    # "withdrawn" only once a worker applied it: a takedown is never reported before it happened.
    state = wait_status(ingest, path, "withdrawn")
    assert state["version"] == 2 and state["url"] is None

    deleted = ingest.delete(path)
    assert deleted.status_code == 202
    assert ingest.delete(path).status_code == 200
    wait_status(ingest, path, "deleted")
    assert ingest.post(f"{path}/unpublish").status_code == 410


def test_unpublish_or_delete_unknown_is_404(ingest: httpx.Client) -> None:
    assert ingest.post("/v1/articles/never-sent/unpublish").status_code == 404
    assert ingest.delete("/v1/articles/never-sent").status_code == 404
    missing = ingest.get("/v1/articles/never-sent")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_republish_after_withdraw(ingest: httpx.Client, new_article: Make) -> None:
    article = new_article(version=1)
    ingest.post("/v1/articles", json=article)
    ingest.post(f"/v1/articles/{article['external_id']}/unpublish")
    again = ingest.post("/v1/articles", json={**article, "version": 2})
    assert again.status_code == 202
    assert ingest.get(f"/v1/articles/{article['external_id']}").json()["status"] in {"accepted", "published"}


def wait_status(ingest: httpx.Client, path: str, status: str, timeout: float = 15) -> dict[str, Any]:
    """The newsroom's view of an article once it reaches this status."""

    def reached() -> dict[str, Any] | None:
        state = ingest.get(path).json()
        return state if state["status"] == status else None

    return wait_until(reached, timeout=timeout, what=f"{path} {status}")  # type: ignore[return-value]
