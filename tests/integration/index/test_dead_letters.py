"""A message no worker can ever read ends in the dead-letter queue; the CLI lists and replays it."""

from __future__ import annotations

from collections.abc import Callable

from kombu import Connection

from services.cli import main as kabar
from services.index import deadletters
from shared.messaging import Queues
from tests.stack import EVERY_DEAD_LETTER, Proc, wait_until


def _depth(broker: Connection, queue: str) -> int:
    with broker.channel() as channel:
        return int(channel.queue_declare(queue, passive=True).message_count)


def _ours(broker: Connection, prefix: str, marker: str) -> list[deadletters.DeadLetter]:
    return [
        d
        for d in deadletters.list_dead(connection=broker, prefix=prefix, limit=EVERY_DEAD_LETTER)
        if marker in d.body_preview
    ]


def test_poison_message_is_dead_lettered_and_replayable(
    broker: Connection, worker: Proc, producer: Callable[..., None], prefix: str, unique: str, monkeypatch, capsys
) -> None:
    queues = Queues(prefix)
    marker = f"poison-{unique}"
    producer([{"schema_version": 99, "uid": marker}])
    wait_until(lambda: _ours(broker, prefix, marker), timeout=20, what="poison message in the dead-letter queue")

    [letter] = _ours(broker, prefix, marker)
    assert letter.task == "kabar.index.apply_events"
    assert letter.queue == queues.index and letter.reason == "rejected"
    # Listing is a peek: the message is still there.
    assert _ours(broker, prefix, marker)

    monkeypatch.setenv("KABAR_PREFIX", prefix)
    assert kabar(["dead-letters", "list", "--limit", str(EVERY_DEAD_LETTER)]) == 0
    assert marker in capsys.readouterr().out

    # A quorum queue takes peeked messages back asynchronously: count once they are all back.
    depth = int(wait_until(lambda: _depth(broker, queues.dead_letter), timeout=10, what="peeked letters back"))
    assert kabar(["dead-letters", "replay", "--limit", str(EVERY_DEAD_LETTER)]) == 0
    assert f"replayed {depth} dead letter(s)" in capsys.readouterr().out
    # Back on the index queue with its Celery headers, rejected again by the worker, dead once more.
    wait_until(lambda: _ours(broker, prefix, marker), timeout=20, what="replayed poison dead again")
    [again] = _ours(broker, prefix, marker)
    assert again.task_id == letter.task_id and again.queue == queues.index
