"""Another newsroom's key can neither read, change nor delete an article; a revoked key stops at once."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any

from shared.models import article_uid
from tests.faults.conftest import FaultStack
from tests.stack import Proc, wait_until


def _doc(stack: FaultStack, uid: str) -> dict[str, Any] | None:
    found = stack.es.options(ignore_status=404).get(index=stack.names.articles, id=uid)
    return found["_source"] if found.get("found") else None


def test_another_newsrooms_key_cannot_read_change_or_delete(faults_stack: FaultStack, faults_worker: Proc) -> None:
    stack = faults_stack
    owner, intruder = f"own{uuid.uuid4().hex[:6]}", f"int{uuid.uuid4().hex[:6]}"
    article = {"external_id": "berita-1", "version": 1, "title": "Asli", "body": "<p>Isi asli.</p>"}
    with stack.client(stack.new_key(owner)) as mine, stack.client(stack.new_key(intruder)) as theirs:
        assert mine.post("/v1/articles", json=article).status_code == 202
        uid = article_uid(owner, "berita-1")
        wait_until(lambda: _doc(stack, uid), timeout=30, what="owner's article indexed")

        path = "/v1/articles/berita-1"
        assert theirs.get(path).status_code == 404
        assert theirs.delete(path).status_code == 404
        assert theirs.post(f"{path}/unpublish").status_code == 404
        # Writing the same external id (even with a higher version) makes the intruder's own article.
        changed = {**article, "version": 9, "title": "Dipalsukan"}
        put_body = {k: v for k, v in changed.items() if k != "external_id"}
        for resp in (theirs.post("/v1/articles", json=changed), theirs.put(path, json=put_body)):
            assert resp.status_code in (200, 202), resp.text
            assert resp.json()["uid"] != uid
        assert theirs.post("/v1/articles:bulk", json=[changed]).json()["items"][0]["uid"] != uid

        wait_until(lambda: _doc(stack, article_uid(intruder, "berita-1")), timeout=30, what="intruder's copy indexed")
        state = mine.get(path).json()
        assert (state["title"], state["version"], state["status"]) == ("Asli", 1, "published")
        doc = _doc(stack, uid)
        assert doc is not None
        assert (doc["title"], doc["version"], doc["newsroom"], doc["status"]) == ("Asli", 1, owner, "published")


def test_revoked_key_stops_working_within_seconds(faults_stack: FaultStack) -> None:
    stack = faults_stack
    newsroom = f"rev{uuid.uuid4().hex[:6]}"
    key = stack.new_key(newsroom)
    spare = stack.new_key(newsroom)
    article = {"external_id": "berita-rev", "title": "Judul", "body": "<p>Isi.</p>"}
    with stack.client(key) as client, stack.client(spare) as spare_client:
        assert client.post("/v1/articles", json=article).status_code == 202
        # Revoked through the operators' CLI, as in production.
        revoked_at = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "services.cli", "newsroom", "revoke", key],
            env=stack.env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        wait_until(
            lambda: client.get("/v1/articles/berita-rev").status_code == 401, timeout=5, what="revoked key refused"
        )
        assert time.monotonic() - revoked_at < 5
        for resp in (
            client.post("/v1/articles", json={**article, "title": "Lagi"}),
            client.delete("/v1/articles/berita-rev"),
            client.post("/v1/articles:bulk", json=[article]),
        ):
            assert resp.status_code == 401
            assert resp.headers["content-type"] == "application/problem+json"
        # The newsroom's other key still works; revoking the whole newsroom stops it too.
        assert spare_client.get("/v1/articles/berita-rev").json()["title"] == "Judul"
        subprocess.run(
            [sys.executable, "-m", "services.cli", "newsroom", "revoke", "--all", newsroom],
            env=stack.env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        wait_until(
            lambda: spare_client.get("/v1/articles/berita-rev").status_code == 401, timeout=5, what="newsroom revoked"
        )
