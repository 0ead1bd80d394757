"""Pure related-link scoring, no Elasticsearch: TF-IDF cosine over the index's stemmed terms, a gentle
recency factor, and near-duplicate titles dropped. The lists module and bench/related_eval.py share it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.text import normalise_title

TITLE_WEIGHT = 2.0  # title term occurrences count twice
RECENCY_WEIGHT = 0.2  # gentle: at most +20 % for same-day candidates
RECENCY_DAYS = 30.0
_JAKARTA = timezone(timedelta(hours=7))


def rank(
    published_at: str | None, own_vectors: dict[str, Any], hits: list[dict[str, Any]], vectors: list[dict[str, Any]]
) -> list[tuple[float, dict[str, Any]]]:
    """(score, hit) best first, from Elasticsearch term vectors (the article's own first, then one per hit)."""
    n_docs = max(
        (tv.get("body_text", {}).get("field_statistics", {}).get("doc_count", 0) for tv in [own_vectors, *vectors]),
        default=0,
    )
    mine = _tfidf(own_vectors, n_docs)
    origin = _parse_time(published_at)
    scored = []
    for hit, tv in zip(hits, vectors, strict=True):
        score = _cosine(mine, _tfidf(tv, n_docs))
        when = _parse_time(hit["_source"].get("published_at"))
        if origin and when:
            days = abs((when - origin).total_seconds()) / 86400
            score *= 1 + RECENCY_WEIGHT * math.exp(-days / RECENCY_DAYS)
        scored.append((score, hit))
    scored.sort(key=lambda sh: -sh[0])
    return scored


def distinct(
    scored: list[tuple[float, dict[str, Any]]], *, own_title: str, k: int
) -> list[tuple[float, dict[str, Any]]]:
    """The best k whose titles are neither the article's own nor a near-duplicate of one already kept."""
    out: list[tuple[float, dict[str, Any]]] = []
    seen_titles = {normalise_title(own_title)}
    for score, hit in scored:
        cand = normalise_title(hit["_source"].get("title") or "")
        if cand in seen_titles or _near_duplicate(cand, seen_titles):
            continue
        seen_titles.add(cand)
        out.append((score, hit))
        if len(out) == k:
            break
    return out


def end_of_day(published_at: str) -> str:
    """Start of the next day in the timestamp's own offset (naive: Asia/Jakarta)."""
    when = datetime.fromisoformat(published_at.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_JAKARTA)
    return (when.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).isoformat()


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_JAKARTA)


def _tfidf(term_vectors: dict[str, Any], n_docs: int) -> dict[str, float]:
    """Sublinear tf x smooth idf; title occurrences count TITLE_WEIGHT times; df from the body field."""
    tf: dict[str, float] = {}
    df: dict[str, int] = {}
    for field, weight in (("title", TITLE_WEIGHT), ("body_text", 1.0)):
        for term, stats in (term_vectors.get(field) or {}).get("terms", {}).items():
            tf[term] = tf.get(term, 0.0) + weight * stats.get("term_freq", 1)
            df[term] = max(df.get(term, 0), stats.get("doc_freq", 0))
    return {
        term: (1 + math.log(count)) * (math.log((n_docs + 1) / (df[term] + 1)) + 1)
        for term, count in tf.items()
        if count > 0
    }


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(t, 0.0) for t, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _near_duplicate(title: str, seen: set[str]) -> bool:
    """The same story re-filed (wire copy, re-posts): titles sharing almost all their words."""
    words = set(title.split())
    if len(words) < 4:
        return False
    for other in seen:
        other_words = set(other.split())
        if other_words and len(words & other_words) / len(words | other_words) >= 0.8:
            return True
    return False
