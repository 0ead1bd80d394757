"""The per-newsroom rate limit counts articles as well as requests: one bulk request is many articles."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from shared.errors import PROBLEM_JSON

Make = Callable[..., dict[str, Any]]


def _inside_one_window() -> None:
    """Per-minute counters reset on the minute; start a counting test well inside one window."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_bulk_articles_count_against_the_article_limit(tight_app: Callable[..., TestClient], new_article: Make) -> None:
    client = tight_app(rate_limit_per_minute=100, rate_limit_articles_per_minute=10)
    _inside_one_window()
    assert client.post("/v1/articles:bulk", json=[new_article() for _ in range(8)]).status_code == 202
    # Three more articles would make 11: refused whole, with nothing taken from the budget.
    refused = client.post("/v1/articles:bulk", json=[new_article() for _ in range(3)])
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert refused.json()["article_limit_per_minute"] == 10
    # Single writes are articles too: two fit, the third does not.
    assert client.post("/v1/articles", json=new_article()).status_code == 202
    assert client.post("/v1/articles", json=new_article()).status_code == 202
    assert client.post("/v1/articles", json=new_article()).status_code == 429
    # Reading is not writing articles: only the request limit applies.
    assert client.get("/v1/articles/none").status_code == 404


def test_bulk_larger_than_the_whole_minute_is_413(tight_app: Callable[..., TestClient], new_article: Make) -> None:
    client = tight_app(rate_limit_articles_per_minute=2)
    resp = client.post("/v1/articles:bulk", json=[new_article() for _ in range(3)])
    assert resp.status_code == 413
    assert resp.headers["content-type"] == PROBLEM_JSON


def test_article_limit_defaults_to_the_request_limit(tight_app: Callable[..., TestClient], new_article: Make) -> None:
    client = tight_app(rate_limit_per_minute=5)
    _inside_one_window()
    assert client.post("/v1/articles:bulk", json=[new_article() for _ in range(4)]).status_code == 202
    assert client.post("/v1/articles:bulk", json=[new_article() for _ in range(2)]).status_code == 429
