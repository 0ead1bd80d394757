"""Losing a node of every clustered service, one after another under steady ingest, loses nothing.

A newsroom feeds real articles (with updates) through ingest the whole time, retrying 503s as a CMS does;
a reader loop reads article pages from publish (page cache off, so every read goes to Elasticsearch). In
turn: kill -9 the Elasticsearch node holding a primary of the articles index, kill -9 the first RabbitMQ node
(every client's first address, and where the queues' leaders were declared), and stop the Redis primary so
that Sentinel promotes the replica. Afterwards every article that got a 2xx is searchable at its version,
none twice, the dead-letter queue is empty, and readers saw no 5xx.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest

from harness.cluster import (
    es_node_holding_primary,
    redis_primary_port,
    services_sh,
    wait_for_new_redis_primary,
)
from harness.procs import wait_until
from shared.state import StateStore
from tests.cluster.conftest import ClusterStack
from tests.faults.newsroom import Newsroom, assert_converged, batched, corpus_articles, with_updates

pytestmark = pytest.mark.slow


class Readers:
    """Reads article pages in a loop from two threads; counts every answer and every failed connection."""

    def __init__(self, base_url: str, paths: list[str]) -> None:
        self.base_url, self.paths = base_url, paths
        self.statuses: Counter[int] = Counter()
        self.transport_errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                path = self.paths[n % len(self.paths)]
                n += 1
                try:
                    self.statuses[client.get(path).status_code] += 1
                except httpx.TransportError:
                    self.transport_errors += 1
                time.sleep(0.05)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


def _nodes(stack: ClusterStack) -> int:
    try:
        return int(stack.es.cluster.health(timeout="2s")["number_of_nodes"])
    except Exception:  # the node asked may be the one that just died: ask again
        return -1


def test_losing_a_node_of_each_service_under_steady_ingest_loses_nothing(cluster_stack: ClusterStack) -> None:
    stack = cluster_stack
    assert stack.es.cluster.health()["number_of_nodes"] == 3
    ingest = stack.api("cluster-ingest", "services.ingest.app:create_app")
    publish = stack.api("cluster-publish", "services.publish.app:create_app", KABAR_PAGE_CACHE_SECONDS="0")
    stack.worker(("index",), concurrency=2)
    stack.worker(("related", "notify", "comments"), concurrency=1)
    # Every shard has its copy on another node (KABAR_ES_REPLICAS=1 from the cluster's settings).
    replicas = stack.es.indices.get_settings(index=stack.names.articles)
    assert {s["settings"]["index"]["number_of_replicas"] for s in replicas.values()} == {"1"}

    name = f"kl{uuid.uuid4().hex[:6]}"
    newsroom = Newsroom(stack.client(ingest, name))
    # Pages for the readers: a few stories published before the faults.
    seeded = [newsroom.post(a, deadline=time.monotonic() + 60) for a in corpus_articles(8, tag=f"{name}-seed")]
    paths = [urlparse(r.json()["url"]).path for r in seeded]
    wait_until(
        lambda: all(httpx.get(f"{publish}{p}", timeout=10).status_code == 200 for p in paths),
        timeout=60,
        what="seeded pages served",
    )
    # A replica acknowledges state commits (WAIT) while the cluster is whole.
    probe = StateStore(stack.redis, stack.prefix, wait_replicas=1, wait_timeout_ms=2000)
    _, acknowledged = probe._replicated(lambda pipe: pipe.set(f"{stack.prefix}:wait-probe", "1"))
    assert acknowledged >= 1

    readers = Readers(publish, paths)
    stream = with_updates(corpus_articles(600, tag=name, offset=100), every=6, size=10)
    with ThreadPoolExecutor(3) as pool:
        reading = [pool.submit(readers.run) for _ in range(2)]
        feeding = pool.submit(newsroom.feed, batched(stream, 10), per_second=4, deadline=time.monotonic() + 400)
        try:
            time.sleep(8)
            es_node = es_node_holding_primary(stack.es, stack.names.articles)
            services_sh("cluster-kill-es", str(es_node))
            wait_until(lambda: _nodes(stack) == 2, timeout=60, what="the cluster to notice the lost node")
            time.sleep(15)
            services_sh("cluster-start-es", str(es_node))

            services_sh("cluster-kill-rabbit", "1")
            time.sleep(20)
            services_sh("cluster-start-rabbit", "1")

            old = redis_primary_port()
            services_sh("cluster-stop-redis", str(old))
            new = wait_for_new_redis_primary(old)
            time.sleep(10)
            services_sh("cluster-start-redis", str(old))
            assert new != old
            feeding.result(timeout=400)
        finally:
            readers.stop.set()
            for r in reading:
                r.result(timeout=60)

    ledger = newsroom.ledger
    diagnostics = "\n".join(f"--- {p.name}\n{p.tail(20)}" for p in stack.procs)
    assert not ledger.rejected, ledger.rejected[:3]
    assert len(ledger.accepted) == 608, f"{len(ledger.accepted)} articles accepted\n{diagnostics}"
    assert_converged(
        es=stack.es,
        alias=stack.names.articles,
        newsroom=name,
        ledger=ledger,
        timeout=180,
        diagnostics=diagnostics,
    )
    assert stack.queue_depth(stack.queues.dead_letter) == 0, diagnostics
    served = sum(readers.statuses.values())
    assert served > 500, f"readers got only {served} answers: {readers.statuses}"
    assert readers.server_errors == 0, f"readers saw 5xx: {readers.statuses}\n{diagnostics}"
    assert readers.transport_errors == 0
    # What the newsroom saw during the faults (503s it retried, never a 500): printed for the closing note.
    print(f"newsroom statuses {dict(ledger.statuses)}; readers {dict(readers.statuses)}")
    assert not any(status >= 500 and status != 503 for status in ledger.statuses), ledger.statuses
