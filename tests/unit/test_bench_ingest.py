"""bench.ingest_bench: every baseline warmed up, every rate over the measured time, alternating order."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bench import ingest_bench
from services.ingest.config import IngestSettings


class SlowPublisher:
    """Stands in for the broker: each publish takes 0.15 s."""

    calls = 0

    def __init__(self, **kwargs: Any) -> None:
        pass

    def declare(self) -> None:
        pass

    def publish(self, events: list[Any]) -> None:
        SlowPublisher.calls += 1
        time.sleep(0.15)

    def close(self) -> None:
        pass


def test_raw_publish_rate_is_over_the_elapsed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_bench, "EventPublisher", SlowPublisher)
    monkeypatch.setattr(ingest_bench, "WARMUP_SECONDS", 0.0, raising=False)
    row = ingest_bench.raw_publish(IngestSettings(prefix="bench0"), 0.2)
    # Two publishes start inside the 0.2 s asked for and end at 0.3 s: 6.7/s, not 2 / 0.2 = 10/s.
    assert row["requests"] == 2
    assert row["rps"] < 2 / 0.25


def test_raw_publish_is_warmed_up_before_it_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    SlowPublisher.calls = 0
    monkeypatch.setattr(ingest_bench, "EventPublisher", SlowPublisher)
    monkeypatch.setattr(ingest_bench, "WARMUP_SECONDS", 0.1, raising=False)
    row = ingest_bench.raw_publish(IngestSettings(prefix="bench0"), 0.2)
    assert SlowPublisher.calls > row["requests"]


def test_every_target_is_warmed_up_and_the_order_alternates() -> None:
    steps = ingest_bench.single_post_steps(["echo_baseline", "single_post"], [1, 10, 50])
    warm = [s for s in steps if not s.measured]
    measured = [s for s in steps if s.measured]
    assert {s.target for s in warm} == {"echo_baseline", "single_post"}
    assert steps[: len(warm)] == warm  # warm-ups come before any measurement
    assert [(s.target, s.concurrency) for s in measured] == [
        ("echo_baseline", 1),
        ("single_post", 1),
        ("single_post", 10),
        ("echo_baseline", 10),
        ("echo_baseline", 50),
        ("single_post", 50),
    ]
