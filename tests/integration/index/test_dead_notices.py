"""A message RabbitMQ dead-letters by itself (its worker died on every delivery) leaves its article `failed`.

Real RabbitMQ (quorum queue, delivery limit), Redis, Elasticsearch and a real worker. The test plays the
dying workers itself, as in test_poison: it takes the message and hands it back unacknowledged, exactly what
RabbitMQ sees when a worker process is killed mid-task, until the delivery limit dead-letters it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from elasticsearch import Elasticsearch
from kombu import Connection
from redis import Redis

from harness.cleanup import drop_prefix_schema, drop_queues, drop_redis_keys
from services.index import deadletters
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from shared.es import IndexNames, drop_indices
from shared.messaging import DELIVERY_LIMIT, TASK_INDEX_EVENTS, Queues, celery_config
from shared.state import StateStore
from tests.integration.index.conftest import make_event
from tests.stack import Proc, free_port, start_worker, wait_until


@pytest.fixture
def lone(prefix: str, unique: str, es: Elasticsearch, broker: Connection, redis: Redis) -> Iterator[str]:
    """A deployment of its own, so the shared worker never takes the message this test is killing."""
    name = f"{prefix}-dn{unique}"
    bootstrap(IndexSettings(prefix=name))
    yield name
    drop_indices(es, IndexNames(name))
    drop_queues(broker_url=broker.as_uri(include_password=True), prefix=name)
    drop_redis_keys(redis, name)
    drop_prefix_schema(IndexSettings(prefix=name))


def test_an_article_whose_worker_dies_on_every_delivery_reads_failed(
    lone: str, broker: Connection, redis: Redis, stack_env: dict[str, str], unique: str
) -> None:
    store = StateStore(redis, lone)
    event = make_event(f"killer-{unique}", title=f"Berita yang menjatuhkan pekerja {unique}")
    store.commit(event.uid, event.revision, op="upsert", version=event.version, newsroom=event.newsroom)
    sender = Celery("dn-producer", set_as_current=False)
    sender.conf.update(celery_config(broker_url=broker.as_uri(include_password=True), prefix=lone))
    sender.send_task(TASK_INDEX_EVENTS, kwargs={"events": [event.model_dump(mode="json")]}, queue=Queues(lone).index)
    sender.close()

    deliveries = 0
    with broker.channel() as channel:
        while deliveries <= DELIVERY_LIMIT:
            message = wait_until(lambda ch=channel: ch.basic_get(Queues(lone).index), timeout=10, what="redelivery")
            deliveries += 1
            channel.basic_reject(message.delivery_tag, requeue=True)  # the worker process died mid-task
    [letter] = wait_until(
        lambda: deadletters.list_dead(connection=broker, prefix=lone, limit=5), timeout=10, what="the dead letter"
    )
    assert letter.reason == "delivery_limit"
    assert store.get(event.uid).status == "accepted"  # nothing failed in a task: no one has told the newsroom yet

    worker: Proc = start_worker(
        {**stack_env, "KABAR_PREFIX": lone, "KABAR_WORKER_METRICS_PORT": str(free_port())}, prefix=lone, name="dn"
    )
    try:
        state = wait_until(
            lambda: (s := store.get(event.uid)).status == "failed" and s,
            timeout=20,
            what="the article marked failed from the notice",
        )
        assert "worker was lost" in state.fields["error"]
        # The letter itself stays for the operator to inspect and replay.
        assert [d.reason for d in deadletters.list_dead(connection=broker, prefix=lone, limit=5)] == ["delivery_limit"]
    finally:
        worker.stop()
