"""Deeply nested JSON is a client mistake on every JSON-parsing path: a 4xx problem, never a 500."""

from __future__ import annotations

import httpx
import pytest

from shared.errors import PROBLEM_JSON

# Around the decoder's recursion limit (about 1,000 levels) and far beyond it.
DEPTHS = [500, 950, 990, 1_000, 1_010, 5_000, 100_000]
JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}


def _arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def _objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _cases(depth: int) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    nested = _arrays(depth)
    return {
        "native": ("POST", "/v1/articles", nested, JSON),
        "native field": ("POST", "/v1/articles", '{"external_id": "deep", "title": "t", "tags": ' + nested + "}", JSON),
        "bulk array": ("POST", "/v1/articles:bulk", nested, JSON),
        "bulk objects": ("POST", "/v1/articles:bulk", "[" + _objects(depth) + "]", JSON),
        "bulk item field": ("POST", "/v1/articles:bulk", '[{"external_id": "deep", "tags": ' + nested + "}]", JSON),
        "ndjson line": ("POST", "/v1/articles:bulk", '{"external_id": "ok", "title": "t"}\n' + nested, NDJSON),
        "ninjs": ("POST", "/v1/ninjs", nested, JSON),
        "ninjs property": ("POST", "/v1/ninjs", '{"uri": "deep", "associations": [{"type": ' + nested + "}]}", JSON),
        "put": ("PUT", "/v1/articles/deep", nested, JSON),
    }


@pytest.mark.parametrize("depth", DEPTHS)
def test_nested_bodies_are_never_a_server_error(ingest: httpx.Client, depth: int) -> None:
    for case, (method, path, body, headers) in _cases(depth).items():
        resp = ingest.request(method, path, content=body.encode(), headers=headers)
        assert resp.status_code < 500, f"{case} at depth {depth}: {resp.status_code} {resp.text[:200]}"
        if resp.status_code >= 400:
            assert resp.headers["content-type"] == PROBLEM_JSON, (case, depth)
        if depth >= 5_000:  # no parser takes these: refused as a whole, not item by item
            assert resp.status_code in {400, 422}, (case, depth, resp.status_code)


def test_too_deep_bulk_body_says_why(ingest: httpx.Client) -> None:
    resp = ingest.post("/v1/articles:bulk", content=_arrays(100_000).encode(), headers=JSON)
    assert resp.status_code == 400
    assert "nested too deeply" in resp.json()["detail"]
