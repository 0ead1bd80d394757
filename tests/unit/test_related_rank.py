"""Pure parts of the related-link ranking: the publish-time cutoff, profiles, names and feature rows."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.index.related import features
from services.index.related.features import Candidate, Profile
from services.index.related.ranker import FALLBACK, load
from tests.unit.test_text_linear import assert_within_budget


def test_publish_time_uses_the_exact_time_when_there_is_one() -> None:
    # An article published at 14:05 could not have linked one published at 14:06 the same day.
    assert features.publish_time_cutoff("2023-12-29T14:05:00+07:00") == "2023-12-29T14:05:00+07:00"
    assert features.publish_time_cutoff("2023-12-29T07:05:00Z") == "2023-12-29T07:05:00+00:00"


def test_publish_time_uses_the_day_when_the_source_dates_to_the_day() -> None:
    assert features.dated_to_the_day("2023-12-29T00:00:00+07:00")
    assert features.dated_to_the_day("2023-12-28T17:00:00Z")  # midnight in Jakarta
    assert not features.dated_to_the_day("2023-12-29T00:00:01+07:00")
    assert features.publish_time_cutoff("2023-12-29T00:00:00+07:00") == "2023-12-30T00:00:00+07:00"
    assert features.publish_time_cutoff("2023-12-29T00:00:00") == "2023-12-30T00:00:00+07:00"


def _tv(terms: dict[str, tuple[int, int]], n_docs: int = 100) -> dict[str, Any]:
    return {
        "body_text": {
            "field_statistics": {"doc_count": n_docs},
            "terms": {t: {"term_freq": tf, "doc_freq": df} for t, (tf, df) in terms.items()},
        }
    }


def test_profile_vectors_are_unit_length_and_rare_terms_weigh_more() -> None:
    me = features.tfidf_vector(_tv({"banjir": (3, 2), "warga": (1, 90)}))
    rare = features.tfidf_vector(_tv({"banjir": (1, 2)}))
    common = features.tfidf_vector(_tv({"warga": (5, 90)}))
    assert sum(w * w for w in me.values()) == pytest.approx(1.0, abs=1e-4)
    assert features.cosine(me, rare) > features.cosine(me, common) > 0
    assert features.cosine(me, {}) == 0.0
    many = features.tfidf_vector(_tv({f"t{i}": (1, 1) for i in range(500)}))
    assert len(many) == features.VECTOR_TERMS


_vectors = st.dictionaries(st.text(min_size=1, max_size=6), st.floats(0, 1), max_size=40)


@given(own=_vectors, others=st.lists(st.one_of(st.none(), _vectors), max_size=12))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_cosines_of_many_profiles_at_once_are_each_pairs_cosine(
    own: dict[str, float], others: list[dict[str, float] | None]
) -> None:
    # Small vocabularies make shared terms, empty vectors and profiles-less candidates (None) common.
    profiles = [Profile(uid=str(i), vector=v) if v is not None else None for i, v in enumerate(others)]
    got = features.cosines(Profile(uid="me", vector=own), profiles)
    want = [features.cosine(own, v) if v is not None else 0.0 for v in others]
    assert got == pytest.approx(want, abs=1e-9)


def test_names_are_capitalised_runs_not_sentence_starts() -> None:
    text = (
        "Presiden Joko Widodo meninjau Kota Bandung. Kemarin hujan deras. Menurut BMKG, Joko Widodo "
        "akan kembali ke Kota Bandung pekan depan."
    )
    names = features.extract_names("Jokowi Tinjau Banjir Bandung", text)
    assert "presiden joko widodo" in names or "joko widodo" in names
    assert "kota bandung" in names
    assert "bmkg" in names
    assert "kemarin" not in names  # a capital only because it starts the sentence


def _candidate(uid: str, when: str, title: str, vector: dict[str, float], links: list[str] | None = None) -> Candidate:
    source = {"uid": uid, "title": title, "published_at": when, "section": "Politik", "tags": []}
    return Candidate(source, 1.0, Profile(uid=uid, vector=vector, editor_uids=links or []))


def test_feature_rows_see_cosine_time_and_colinks() -> None:
    article = {"uid": "s", "title": "Banjir Jakarta Meluas", "published_at": "2024-01-10T10:00:00+07:00"}
    own = Profile(uid="s", vector={"banjir": 0.8, "jakarta": 0.6})
    cands = [
        _candidate("a", "2024-01-10T09:00:00+07:00", "Banjir Jakarta", {"banjir": 1.0}),
        _candidate("b", "2023-06-01T09:00:00+07:00", "Harga Beras", {"beras": 1.0}, links=["a"]),
        _candidate("c", "2024-01-09T09:00:00+07:00", "Jakarta Hujan", {"jakarta": 1.0}, links=["a"]),
    ]
    rows = features.feature_rows(article, own, cands)
    col = {name: [r[i] for r in rows] for i, name in enumerate(features.FEATURES)}
    assert all(len(r) == len(features.FEATURES) for r in rows)
    assert col["cosine"][0] == pytest.approx(0.8)
    assert col["cosine"][1] == 0.0
    assert col["cosine_rank"][0] == 0.0
    assert col["colinked"] == [2.0, 0.0, 0.0]  # b and c both link a
    assert col["recency_rank"] == [0.0, 2.0, 1.0]
    assert col["log_hours_gap"][0] < col["log_hours_gap"][2] < col["log_hours_gap"][1]
    assert col["title_jaccard"][0] > col["title_jaccard"][1]
    fallback = FALLBACK.score(rows)
    assert fallback[0] > fallback[2] > fallback[1]


def test_near_duplicate_titles_are_dropped() -> None:
    same = [
        _candidate(u, "2024-01-01T00:00:00+07:00", t, {})
        for u, t in (
            ("a", "Harga Beras Naik Lagi di Pasar Induk"),
            ("b", "Harga Beras Naik Lagi di Pasar Induk!"),
            ("c", "Banjir di Jakarta"),
        )
    ]
    kept = features.distinct([(3.0, same[0]), (2.0, same[1]), (1.0, same[2])], own_title="x", k=5)
    assert [c.source["uid"] for _, c in kept] == ["a", "c"]


def test_the_shipped_model_matches_the_features_or_falls_back(tmp_path: Any) -> None:
    assert load("none") is FALLBACK
    assert load(tmp_path / "missing.txt") is FALLBACK
    shipped = load(None)
    if shipped.learned:  # the model file is committed; a stale one must not be used silently
        assert shipped.score([[0.0] * len(features.FEATURES)]) != []


NAME_PIECES = ["A", "Ab", " ", "\t", "B'", "C-", "’", ".", ". ", "x", "KPU", "Baca Juga", "\u00c9", "1", "\n"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(NAME_PIECES), min_size=1, max_size=6), st.integers(min_value=2_000, max_value=60_000))
def test_name_extraction_is_linear_on_adversarial_text(pieces: list[str], repeats: int) -> None:
    body = "".join(pieces) * repeats
    assert_within_budget("extract_names", lambda: features.extract_names(body[:300], body), len(body))


def test_profiles_round_trip_through_their_stored_forms() -> None:
    profile = Profile(
        uid="u1", vector={"banjir": 0.8, "a:b": 0.6}, names=["joko widodo", "kpu"], editor_uids=["x", "y"]
    )
    back = Profile.unpack("u1", profile.pack())
    assert back.names == profile.names and back.editor_uids == profile.editor_uids
    assert back.vector == pytest.approx(profile.vector, abs=1e-3)  # float16 weights
    assert features.unpack_vector(*features.pack_vector({})) == {}
    assert Profile.unpack("u2", Profile(uid="u2").pack()) == Profile(uid="u2")
    # The fields a list shows, tabs and newlines in a title included (the packed form is tab-separated).
    shown = {"title": "Banjir\tbandang\n di Garut", "tags": ["banjir"], "published_at": "2026-01-02T03:04:05+07:00"}
    assert Profile.unpack("u3", Profile(uid="u3", fields=shown).pack()).fields == shown
    # A profile cached before fields were kept still reads, with none.
    old = "\t".join(Profile(uid="u4", names=["kpu"]).pack().split("\t")[:4])
    assert Profile.unpack("u4", old) == Profile(uid="u4", names=["kpu"])
