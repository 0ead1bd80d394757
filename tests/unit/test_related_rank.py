"""Pure parts of the related-link ranking: the publish-time cutoff and the TF-IDF cosine."""

from __future__ import annotations

from services.index.related.scoring import _cosine, _tfidf
from services.index.related.scoring import end_of_day as _end_of_day


def test_publish_time_cutoff_includes_the_same_day() -> None:
    assert _end_of_day("2023-12-29T00:00:00+07:00") == "2023-12-30T00:00:00+07:00"
    assert _end_of_day("2023-12-29T23:59:00+07:00") == "2023-12-30T00:00:00+07:00"
    assert _end_of_day("2023-12-29T08:00:00") == "2023-12-30T00:00:00+07:00"


def _tv(terms: dict[str, tuple[int, int]]) -> dict:
    return {"body_text": {"terms": {t: {"term_freq": tf, "doc_freq": df} for t, (tf, df) in terms.items()}}}


def test_rare_shared_terms_outweigh_common_ones() -> None:
    me = _tfidf(_tv({"banjir": (3, 2), "warga": (1, 90)}), 100)
    rare = _tfidf(_tv({"banjir": (1, 2)}), 100)
    common = _tfidf(_tv({"warga": (5, 90)}), 100)
    assert _cosine(me, rare) > _cosine(me, common) > 0
    assert _cosine(me, {}) == 0.0
