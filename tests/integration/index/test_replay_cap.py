"""`dead-letters replay` is capped: a message that is dead-lettered again at once is not taken twice.

The "work" queue here is a classic queue whose messages expire at once (x-message-ttl 0) into the
prefix's dead-letter exchange: a replayed message is back in the dead-letter queue before replay
reaches for the next one, the worst case for a replay loop. No worker is involved.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Producer

from harness.procs import ROOT, run_module, wait_until
from services.index import deadletters
from shared.messaging import Queues, declare_topology


@pytest.fixture
def looping(broker: Connection, prefix: str) -> Iterator[tuple[str, str]]:
    """A prefix of its own (so nothing else shares its dead-letter queue) and its instantly-dying queue."""
    own = f"{prefix}-rc{uuid.uuid4().hex[:6]}"
    queues = Queues(own)
    declare_topology(broker, own)
    loop = f"{own}.loop"
    with broker.channel() as channel:
        channel.queue_declare(
            loop,
            durable=True,
            arguments={
                "x-message-ttl": 0,
                "x-dead-letter-exchange": queues.dead_letter_exchange,
                "x-dead-letter-routing-key": queues.dead_letter,
            },
        )
    yield own, loop
    for name in (loop, *queues.all()):
        with broker.channel() as channel, contextlib.suppress(Exception):
            channel.queue_delete(name)
    for name in (queues.index, queues.related, queues.dead_letter_exchange):
        with broker.channel() as channel, contextlib.suppress(Exception):
            channel.exchange_delete(name)


def _depth(broker: Connection, queue: str) -> int:
    with broker.channel() as channel:
        return int(channel.queue_declare(queue, passive=True).message_count)


def _dead_letter(broker: Connection, own: str, loop: str, count: int) -> list[str]:
    """Send `count` messages through the dying queue; returns their ids once all are dead letters."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    with broker.channel() as channel:
        producer = Producer(channel)
        for task_id in ids:
            producer.publish({"marker": task_id}, exchange="", routing_key=loop, headers={"id": task_id})
    dead = Queues(own).dead_letter
    wait_until(lambda: _depth(broker, dead) == count, timeout=20, what=f"{count} dead letters")
    return ids


def test_replay_takes_each_waiting_message_once(broker: Connection, looping: tuple[str, str]) -> None:
    own, loop = looping
    ids = _dead_letter(broker, own, loop, 3)
    replayed = deadletters.replay(connection=broker, prefix=own, limit=50)
    assert sorted(r.task_id or "" for r in replayed) == sorted(ids)
    # Every one went back to its queue and died again: waiting for the next run, not replayed twice.
    wait_until(lambda: _depth(broker, Queues(own).dead_letter) == 3, timeout=20, what="replays dead again")


def test_replay_honours_the_limit(broker: Connection, looping: tuple[str, str]) -> None:
    own, loop = looping
    _dead_letter(broker, own, loop, 5)
    assert len(deadletters.replay(connection=broker, prefix=own, limit=2)) == 2
    wait_until(lambda: _depth(broker, Queues(own).dead_letter) == 5, timeout=20, what="all five waiting again")


def test_replay_command_ends_with_a_default_cap(broker: Connection, looping: tuple[str, str]) -> None:
    own, loop = looping
    _dead_letter(broker, own, loop, 2)
    env = {**os.environ, "KABAR_PREFIX": own, "PYTHONPATH": str(ROOT)}
    try:
        done = run_module("services.cli", "dead-letters", "replay", env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("`kabar dead-letters replay` kept replaying the messages it had just re-sent")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replayed 2 dead letter(s)" in done.stdout
