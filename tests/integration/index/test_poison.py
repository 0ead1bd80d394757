"""No single message stalls the pipeline: refused events and messages that keep failing end as dead letters.

Every test uses the real RabbitMQ (quorum queues), Elasticsearch, Redis and a real worker process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import httpx
from elasticsearch import Elasticsearch
from kombu import Connection, Exchange, Producer
from redis import Redis

from harness.cleanup import drop_queues
from harness.procs import Proc, run_module, wait_until
from services.index import deadletters
from shared.es import IndexNames
from shared.events import Operation
from shared.messaging import DELIVERY_LIMIT, Queues, declare_topology
from shared.state import StateStore
from tests.integration.index.conftest import get_doc, make_event, related_uids
from tests.stack import EVERY_DEAD_LETTER


def _letters(broker: Connection, prefix: str, marker: str) -> list[deadletters.DeadLetter]:
    return [
        d
        for d in deadletters.list_dead(connection=broker, prefix=prefix, limit=EVERY_DEAD_LETTER)
        if marker in (d.article_ids or "") or marker in d.body_preview
    ]


def _metric(port: str, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def test_an_event_elasticsearch_refuses_is_dead_lettered_alone_and_the_batch_goes_on(
    es: Elasticsearch,
    names: IndexNames,
    redis: Redis,
    broker: Connection,
    worker: Proc,
    producer: Callable[..., None],
    prefix: str,
    unique: str,
    stack_env: dict[str, str],
) -> None:
    store = StateStore(redis, prefix)
    good = [make_event(f"ok-{i}-{unique}", title=f"Berita biasa {unique} nomor {i}") for i in range(2)]
    # U+0000 in a title passes the event schema but Elasticsearch's completion field refuses the document:
    # one such event inside a bulk write used to be acknowledged with the batch and vanish.
    poison = make_event(f"poison-{unique}", title=f"Judul\x00beracun {unique}")
    batch = [good[0], poison, good[1]]
    for event in batch:
        store.commit(event.uid, event.revision, op="upsert", version=event.version, newsroom=event.newsroom)
    rejections_before = _metric(stack_env["KABAR_WORKER_METRICS_PORT"], "kabar_index_item_rejections_total")
    producer(batch)

    for event in good:
        wait_until(
            lambda e=event: store.get(e.uid).status == "published", timeout=20, what="the rest of the batch indexed"
        )
        assert get_doc(es, names, event.uid)
    [letter] = wait_until(lambda: _letters(broker, prefix, poison.uid), timeout=30, what="the poison dead-lettered")
    # Alone: replaying it retries that one event, never its batch-mates.
    assert letter.article_ids == poison.uid and good[0].uid not in letter.body_preview
    assert letter.queue == Queues(prefix).index and letter.reason == "rejected"
    assert get_doc(es, names, poison.uid) is None
    state = store.get(poison.uid)
    assert state.status == "failed"
    assert "PoisonEventError" in state.fields["error"] and "illegal" in state.fields["error"].lower()
    assert _metric(stack_env["KABAR_WORKER_METRICS_PORT"], "kabar_index_item_rejections_total") > rejections_before

    env = {**os.environ, **stack_env}
    health = run_module("services.cli", "worker-health", "--fail-on-dead-letters", env=env, timeout=60)
    report = json.loads(health.stdout.strip().splitlines()[-1])
    assert report["workers"] and report["dead_letters"] >= 1
    assert health.returncode == 2


def test_a_message_that_keeps_coming_back_is_dead_lettered_at_the_delivery_limit(
    broker: Connection, prefix: str, unique: str
) -> None:
    """A message that takes its worker down returns to the queue; RabbitMQ stops handing it out for ever."""
    lone = f"{prefix}-dl{unique}"  # a deployment of its own: no worker consumes it, this test plays one
    queues = Queues(lone)
    declare_topology(broker, lone)
    try:
        with broker.channel() as channel:
            Producer(channel).publish(
                {"marker": unique},
                exchange=Exchange(queues.index, type="topic", no_declare=True),
                routing_key=queues.index,
                delivery_mode=2,
            )
        deliveries = 0
        with broker.channel() as channel:
            while deliveries < DELIVERY_LIMIT + 5:
                message = wait_until(
                    lambda ch=channel: ch.basic_get(queues.index) or _dead_count(broker, queues.dead_letter),
                    timeout=10,
                    what="the message back in its queue or dead",
                )
                if isinstance(message, int):
                    break
                deliveries += 1
                channel.basic_reject(message.delivery_tag, requeue=True)  # as a worker killed mid-task leaves it
        assert deliveries == DELIVERY_LIMIT + 1
        [letter] = deadletters.list_dead(connection=broker, prefix=lone, limit=5)
        assert letter.reason == "delivery_limit" and unique in letter.body_preview
    finally:
        drop_queues(broker_url=broker.as_uri(include_password=True), prefix=lone)


def _dead_count(broker: Connection, queue: str) -> int:
    with broker.channel() as channel:
        return int(channel.queue_declare(queue, passive=True).message_count)


def test_a_redelivered_takedown_still_cuts_the_story_from_every_list(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    """The worker died after the bulk write: the redelivered takedown gets a 409, yet the lists are cut."""
    story, owner = make_event(f"victim-{unique}", title=f"Cerita {unique}"), make_event(f"owner-{unique}")
    producer([story, owner], related=False)  # no computed lists: only the takedown may touch the owner's list
    wait_until(lambda: get_doc(es, names, story.uid) and get_doc(es, names, owner.uid), timeout=20, what="published")
    # The owner's stored list shows the story, as related work left it before the takedown.
    item = {"uid": story.uid, "title": story.article.title, "path": "/x", "kind": "computed"}  # type: ignore[union-attr]
    es.index(
        index=names.related,
        id=owner.uid,
        document={"uid": owner.uid, "items": [item], "related_uids": [story.uid]},
        refresh=True,
    )
    # What the killed worker had written before it died: the withdrawal itself, at the event's revision.
    doc = get_doc(es, names, story.uid)
    assert doc is not None
    es.index(
        index=names.articles,
        id=story.uid,
        document={**doc, "status": "withdrawn", "revision": 2},
        version=2,
        version_type="external",
        refresh=True,
    )
    producer([make_event(story.external_id, op=Operation.WITHDRAW, revision=2)])
    wait_until(lambda: story.uid not in (related_uids(es, names, owner.uid) or []), timeout=20, what="list cut")
