"""Schemathesis against the ingest service's own OpenAPI schema: no generated request may cause a 5xx.

Bounded (a few examples per operation and mode) so it stays a smoke check in CI, not a soak. The
operations are driven from one test with Hypothesis directly, as schemathesis' lazy-fixture pytest
plugin does not work with pytest 9's node ids.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from shared.errors import PROBLEM_JSON
from tests.fuzzing import live_operations


@pytest.fixture(scope="module")
def operations(ingest_url: str) -> list[schemathesis.APIOperation]:
    return live_operations(f"{ingest_url}/openapi.json", "ingest")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(
    operations: list[schemathesis.APIOperation], ingest_url: str, api_key: str, mode: GenerationMode
) -> None:
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=ingest_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=15)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
            if response.status_code >= 400:
                content_type = response.headers.get("content-type", [""])
                assert content_type[0].startswith(PROBLEM_JSON), response.text[:300]

        try:
            check()
        except Unsatisfiable:
            # Some operations have nothing to negate (e.g. a bare path id); positive mode covers them.
            assert mode is GenerationMode.NEGATIVE


def test_openapi_documents_every_route_with_examples(ingest_url: str) -> None:
    spec = httpx.get(f"{ingest_url}/openapi.json").json()
    assert {
        "/v1/articles",
        "/v1/articles:bulk",
        "/v1/ninjs",
        "/v1/articles/{external_id}",
        "/v1/articles/{external_id}/unpublish",
    } <= set(spec["paths"])
    create = spec["paths"]["/v1/articles"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert {"application/json", "application/x-ndjson"} <= set(
        spec["paths"]["/v1/articles:bulk"]["post"]["requestBody"]["content"]
    )
