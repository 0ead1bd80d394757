"""POST /v1/ninjs: usable creates, withheld unpublishes, canceled deletes; unknown properties reported."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.integration.ingest.test_articles import wait_status
from tests.stack import Proc


def _item(uri: str, **fields: Any) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1",
        "pubstatus": "usable",
        "headlines": [{"role": "main", "value": "Banjir rendam Jakarta"}],
        "bodies": [{"contenttype": "text/html", "value": "<p>Hujan deras.</p>"}],
        "subjects": [{"name": "Metro", "rel": "section"}],
        **fields,
    }


def test_ninjs_lifecycle(ingest: httpx.Client, worker: Proc) -> None:
    uri = f"urn:newsml:kabar.id:{uuid.uuid4().hex[:10]}"
    created = ingest.post(
        "/v1/ninjs",
        content=httpx.Request("POST", "/", json=_item(uri, foo=1)).content,
        headers={"Content-Type": "application/ninjs+json"},
    )
    assert created.status_code == 202, created.text
    assert created.json()["action"] == "upsert"
    assert created.json()["ignored"] == ["foo"]
    state = ingest.get(f"/v1/articles/{uri}").json()
    assert state["version"] == 1 and state["title"] == "Banjir rendam Jakarta"

    withheld = ingest.post("/v1/ninjs", json=_item(uri, version="2", pubstatus="withheld"))
    assert withheld.status_code == 202 and withheld.json()["result"] == "accepted"
    wait_status(ingest, f"/v1/articles/{uri}", "withdrawn")
    stale = ingest.post("/v1/ninjs", json=_item(uri, version="1", pubstatus="canceled"))
    assert stale.status_code == 409
    killed = ingest.post("/v1/ninjs", json=_item(uri, version="2", pubstatus="canceled"))
    assert killed.status_code == 202
    wait_status(ingest, f"/v1/articles/{uri}", "deleted")


def test_takedown_versions_are_bounded_like_upserts(ingest: httpx.Client, worker: Proc) -> None:
    """A ninjs version past the bound overflowed Elasticsearch's external version: 202, story still up."""
    uri = f"urn:newsml:kabar.id:{uuid.uuid4().hex[:10]}"
    assert ingest.post("/v1/ninjs", json=_item(uri)).status_code == 202
    for pubstatus in ("withheld", "canceled"):
        huge = ingest.post("/v1/ninjs", json=_item(uri, version="1732500000000000000", pubstatus=pubstatus))
        assert huge.status_code == 422, huge.text
        assert huge.json()["errors"][0]["pointer"] == "/version"
    upsert = ingest.post("/v1/ninjs", json=_item(uri, version=str(2**43)))
    assert upsert.status_code == 422
    assert upsert.json()["errors"][0]["pointer"] == "/version"
    state = wait_status(ingest, f"/v1/articles/{uri}", "published")
    assert state["version"] == 1


def test_a_version_of_unicode_digits_is_not_a_version(ingest: httpx.Client) -> None:
    uri = f"urn:newsml:kabar.id:{uuid.uuid4().hex[:10]}"
    resp = ingest.post("/v1/ninjs", json=_item(uri, version="²"))
    assert resp.status_code == 202, resp.text
    assert resp.json()["version"] == 1


def test_unknown_uri_withheld_is_404_and_invalid_item_points_into_ninjs(ingest: httpx.Client) -> None:
    assert ingest.post("/v1/ninjs", json={"uri": "urn:never", "pubstatus": "withheld"}).status_code == 404
    bad = ingest.post("/v1/ninjs", json={"uri": "urn:bad", "bodies": [{"value": "x"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/headlines"
    assert ingest.post("/v1/ninjs", json={"uri": "urn:bad", "pubstatus": "deleted"}).status_code == 422
