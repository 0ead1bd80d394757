"""A Celery soft time limit that fires inside an Elasticsearch request reaches the task as a time limit.

The real worker client against the real Elasticsearch: the request is one Elasticsearch itself holds open
(cluster health waiting for nodes that never come), and the limit is delivered the way Celery delivers it,
as an exception raised from a signal handler in the middle of the socket read.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from types import FrameType

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from elasticsearch import Elasticsearch

from services.index.celery_app import TimeLimitAwareNode
from services.index.config import IndexSettings
from shared.es import create_client

HELD_OPEN = "3s"  # how long Elasticsearch holds the health request before answering


@pytest.fixture
def worker_es(settings: IndexSettings) -> Iterator[Elasticsearch]:
    client = create_client(settings, node_class=TimeLimitAwareNode)
    yield client
    client.close()


@pytest.fixture
def soft_limit_in() -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_a_time_limit_inside_a_request_is_not_an_outage(worker_es: Elasticsearch, soft_limit_in: None) -> None:
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded):
        worker_es.cluster.health(wait_for_nodes=">=99", timeout=HELD_OPEN)
    # Not retried by the transport (the default client sends the request again and waits it out once more).
    assert time.monotonic() - started < 2.0
    # And the node is not marked dead: the next request goes straight through.
    assert worker_es.cluster.health()["status"] in ("green", "yellow")
