"""harness.results.alternating: same-run comparisons take turns going first."""

from __future__ import annotations

from harness.results import alternating


def test_each_arm_goes_first_as_often_as_the_other() -> None:
    orders = alternating(["es_direct", "kabar"], 4)
    assert orders == [["es_direct", "kabar"], ["kabar", "es_direct"]] * 2
    assert [o[0] for o in orders].count("kabar") == 2


def test_one_round_keeps_the_given_order() -> None:
    assert alternating(["a", "b", "c"], 1) == [["a", "b", "c"]]
    assert alternating(["a", "b"], 0) == []
