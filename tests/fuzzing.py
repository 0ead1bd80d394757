"""What the schemathesis runs against ingest and publish share: their operations, from the live schema."""

from __future__ import annotations

import schemathesis
from schemathesis.core.result import Ok


def live_operations(schema_url: str, service: str) -> list[schemathesis.APIOperation]:
    """Every operation of a running service's OpenAPI schema; the schema itself must be valid."""
    results = list(schemathesis.openapi.from_url(schema_url).get_all_operations())
    assert all(isinstance(r, Ok) for r in results), f"the {service} schema must be valid OpenAPI"
    return [r.ok() for r in results if isinstance(r, Ok)]
