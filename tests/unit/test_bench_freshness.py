"""bench.freshness: the direct-Elasticsearch floor runs as long as the pipeline it is the floor of."""

from __future__ import annotations

import pytest

from bench import freshness


@pytest.mark.parametrize("duration", [20.0, 120.0, 300.0])
def test_every_phase_runs_the_one_duration(duration: float) -> None:
    phases = freshness.phases(duration=duration, rate=50.0, poison_every=100)
    assert [p.name for p in phases] == ["es_direct", "pipeline", "pipeline_poisoned"]
    assert {p.seconds for p in phases} == {duration}
    assert {p.articles for p in phases} == {int(duration * 50) + 1}


def test_no_poisoned_phase_when_poison_is_off() -> None:
    assert [p.name for p in freshness.phases(duration=60.0, rate=50.0, poison_every=0)] == ["es_direct", "pipeline"]
