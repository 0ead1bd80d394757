"""No accepted article is lost, stale or duplicated while workers die, RabbitMQ restarts or
Elasticsearch goes away for a while. Each test feeds real corpus articles through the bulk API in a
background thread while the main thread injects the fault, then checks the end state in Elasticsearch.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.faults.conftest import FaultStack, services_sh
from tests.faults.newsroom import Newsroom, assert_converged, batched, corpus_articles, with_updates

pytestmark = pytest.mark.slow


def _start_feed(
    pool: ThreadPoolExecutor, stack: FaultStack, *, count: int, batch: int, per_second: float, budget: float
) -> tuple[Newsroom, str, Future[None]]:
    """A fresh newsroom feeding `count` articles (plus version-2 updates of every 7th) in the background."""
    name = f"nr{uuid.uuid4().hex[:6]}"
    newsroom = Newsroom(stack.client(stack.new_key(name)))
    stream = with_updates(corpus_articles(count, tag=name), every=7, size=batch)
    deadline = time.monotonic() + budget
    future = pool.submit(newsroom.feed, batched(stream, batch), per_second=per_second, deadline=deadline)
    return newsroom, name, future


def _diagnostics(stack: FaultStack) -> str:
    logs = "\n".join(f"--- {w.name} ({'alive' if w.alive() else 'dead'})\n{w.tail(15)}" for w in stack.workers[-2:])
    return f"dead letters: {stack.dead_letters()}\n{logs}\n--- ingest\n{stack.ingest.tail(15)}"


def test_worker_sigkilled_repeatedly_loses_nothing(faults_stack: FaultStack) -> None:
    stack = faults_stack
    stack.ensure_worker()
    kills = 0
    with ThreadPoolExecutor(1) as pool:
        newsroom, name, feed = _start_feed(pool, stack, count=1800, batch=25, per_second=110, budget=120)
        stop_at = time.monotonic() + 90
        while not feed.done() and time.monotonic() < stop_at:
            time.sleep(2.5)
            for worker in [w for w in stack.workers if w.alive()]:
                worker.kill()  # SIGKILL to the whole process group: main process and pool children
                worker.popen.wait(10)  # type: ignore[union-attr]
                kills += 1
            stack.start_worker()
        feed.result(timeout=60)
    assert kills >= 3, f"only {kills} worker kills happened while feeding"
    ledger = newsroom.ledger
    assert not ledger.rejected, ledger.rejected[:3]
    assert len(ledger.accepted) == 1800
    assert_converged(
        es=stack.es,
        alias=stack.names.articles,
        newsroom=name,
        ledger=ledger,
        timeout=120,
        diagnostics=_diagnostics(stack),
    )
    assert stack.dead_letters() == 0


def test_rabbitmq_restart_loses_nothing_that_got_a_2xx(faults_stack: FaultStack) -> None:
    stack = faults_stack
    stack.ensure_worker()
    with ThreadPoolExecutor(1) as pool:
        newsroom, name, feed = _start_feed(pool, stack, count=1000, batch=20, per_second=80, budget=120)
        try:
            time.sleep(3)
            services_sh("stop-rabbitmq")
            time.sleep(5)  # the broker stays down long enough for many requests to hit the outage
        finally:
            services_sh("start-rabbitmq")
        feed.result(timeout=120)
    ledger = newsroom.ledger
    # The outage was seen by the client as 503 + Retry-After (nothing else), and retried through.
    assert ledger.statuses[503] >= 1, ledger.statuses
    assert set(ledger.statuses) <= {200, 202, 503}, ledger.statuses
    assert not ledger.rejected, ledger.rejected[:3]
    assert len(ledger.accepted) == 1000
    assert any(w.alive() for w in stack.workers), "the worker did not survive the broker restart"
    assert_converged(
        es=stack.es,
        alias=stack.names.articles,
        newsroom=name,
        ledger=ledger,
        timeout=120,
        diagnostics=_diagnostics(stack),
    )
    assert stack.dead_letters() == 0


def test_elasticsearch_outage_is_retried_until_everything_is_indexed(faults_stack: FaultStack) -> None:
    stack = faults_stack
    stack.ensure_worker()
    with ThreadPoolExecutor(1) as pool:
        newsroom, name, feed = _start_feed(pool, stack, count=1000, batch=20, per_second=60, budget=150)
        try:
            time.sleep(2)
            services_sh("stop-es")
            accepted_at_stop = len(newsroom.ledger.accepted)
            time.sleep(20)
            accepted_in_outage = len(newsroom.ledger.accepted) - accepted_at_stop
        finally:
            services_sh("start-es")  # blocks until the cluster is healthy again
        feed.result(timeout=120)
    ledger = newsroom.ledger
    # The outage overlapped indexing: articles were still arriving while Elasticsearch was down.
    assert 0 < accepted_at_stop < 1000 and accepted_in_outage > 0, (accepted_at_stop, accepted_in_outage)
    # Ingest never depends on Elasticsearch: every request was answered 2xx straight away.
    assert set(ledger.statuses) <= {200, 202}, ledger.statuses
    assert len(ledger.accepted) == 1000
    took = assert_converged(
        es=stack.es,
        alias=stack.names.articles,
        newsroom=name,
        ledger=ledger,
        timeout=150,
        diagnostics=_diagnostics(stack),
    )
    assert stack.dead_letters() == 0
    print(f"converged {took:.1f}s after Elasticsearch was healthy again")
