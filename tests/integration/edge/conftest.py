"""A whole stack behind real Varnish edges, on a prefix of its own: ingest, two publishes, workers that purge.

The edge tests need index workers that purge their edges (KABAR_EDGE_URLS), so they cannot share the
session's workers (which purge none) on the session's queues: this package gets its own prefix, indices,
queues, key and processes, and removes them afterwards.

Two publish processes read the same indices, each behind its own edge:
- `main`: the default lifetimes (edge_max_age 300 s): whatever changes there within a test was purged;
- `short`: pages stale after 1 s, so reading them later exercises grace; the publish-down tests stop it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from harness.edge import start_edge, start_purging_workers
from harness.procs import Proc, start_api, wait_until
from harness.stack import private_stack
from services.ingest.auth import create_key
from shared.es import IndexNames


@dataclass
class Edge:
    """One publish and the edge in front of it."""

    publish: Proc
    publish_url: str
    proc: Proc
    url: str
    env: dict[str, str]

    def restart_publish(self) -> None:
        """Start publish again on its port (after a test stopped it)."""
        if self.publish.alive():
            return
        self.publish.start()
        wait_until(lambda: httpx.get(f"{self.publish_url}/healthz", timeout=1).status_code == 200, timeout=30)


@dataclass
class EdgeStack:
    prefix: str
    es: Elasticsearch
    names: IndexNames
    ingest_url: str
    api_key: str
    main: Edge
    short: Edge


def _edge(name: str, env: dict[str, str], ingest_url: str) -> Edge:
    publish, publish_url = start_api(name, "services.publish.app:create_app", env)
    proc, url = start_edge(publish_url=publish_url, ingest_url=ingest_url)
    return Edge(publish=publish, publish_url=publish_url, proc=proc, url=url, env=env)


@pytest.fixture(scope="package")
def stack() -> Iterator[EdgeStack]:
    with private_stack("e") as own:
        _, ingest_url = own.api("ingest", "services.ingest.app:create_app")
        main = _edge("publish-main", own.env, ingest_url)
        short = _edge("publish-short", {**own.env, "KABAR_EDGE_MAX_AGE": "1"}, ingest_url)
        own.procs += [main.publish, main.proc, short.publish, short.proc]
        own.procs += start_purging_workers(own.env, prefix=own.prefix, edge_urls=[main.url, short.url])
        key = create_key(redis=own.redis, prefix=own.prefix, newsroom="edge-room")
        yield EdgeStack(own.prefix, own.es, own.names, ingest_url, key, main, short)


@pytest.fixture
def newsroom(stack: EdgeStack) -> Iterator[httpx.Client]:
    """The newsroom API, straight to ingest."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.ingest_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def edge(stack: EdgeStack) -> Iterator[httpx.Client]:
    """A reader at the main edge (gzip off, so bodies read as they are stored unless a test asks)."""
    with httpx.Client(base_url=stack.main.url, timeout=30, headers={"Accept-Encoding": "identity"}) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


Publisher = Callable[..., dict[str, Any]]


@pytest.fixture
def publish_article(newsroom: httpx.Client) -> Publisher:
    """Send an article through the newsroom API and wait until it is published; returns its state."""

    def send(external_id: str, *, version: int = 1, **fields: Any) -> dict[str, Any]:
        body = {
            "external_id": external_id,
            "version": version,
            "published_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "section": "Kota",
            **fields,
        }
        body.setdefault("body_paragraphs", [f"Isi berita {body['title']}.", "Paragraf kedua untuk pembaca."])
        answer = newsroom.post("/v1/articles", json=body)
        assert answer.status_code == 202, answer.text
        return wait_status(newsroom, external_id, "published", version=version)

    return send


def wait_status(newsroom: httpx.Client, external_id: str, status: str, *, version: int | None = None) -> dict[str, Any]:
    """The newsroom's view of an article once the workers applied `status` (at `version`, when given)."""

    def applied() -> dict[str, Any] | None:
        state = newsroom.get(f"/v1/articles/{external_id}").json()
        if state.get("status") == status and (version is None or state.get("version") == version):
            return state
        return None

    return wait_until(applied, timeout=30, what=f"{external_id} {status}")  # type: ignore[no-any-return]
