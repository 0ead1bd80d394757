"""What the reranker knows of a (article, candidate) pair: pure functions, no Elasticsearch.

Serving (lists.similar_articles) and training (scripts/train_ranker.py, bench/related_eval.py) build the
rows with this one module, so the model sees at training exactly what it sees at serving.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from shared.text import normalise_title

_JAKARTA = timezone(timedelta(hours=7))

# Terms kept per article profile: enough for the cosine of two news stories, small enough to read 50 at once.
VECTOR_TERMS = 160
TITLE_WEIGHT = 2.0  # title term occurrences count twice
NAME_TEXT_CHARS = 8000

FEATURES = [
    "first_rel",
    "first_rank",
    "cosine",
    "cosine_rel",
    "cosine_rank",
    "title_jaccard",
    "title_in_text",
    "names_shared",
    "names_jaccard",
    "log_hours_gap",
    "gap_rank",
    "earlier",
    "recency_rank",
    "day_only",
    "same_section",
    "shared_tags",
    "colinked",
    "links_candidates",
    "log_terms",
    "linked_rank",
]


@dataclass
class Profile:
    """What ranking needs of one article revision (stored beside its related list)."""

    uid: str
    vector: dict[str, float] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    editor_uids: list[str] = field(default_factory=list)
    # The fields a list shows and ranks by (title, path, time, section, tags...), as of this revision: with
    # them in the cache the first stage asks Elasticsearch for ids only (fetching ~200 documents' fields was
    # two thirds of its time). Empty in profiles stored before they were kept.
    fields: dict[str, Any] = field(default_factory=dict)
    # The vector as arrays for `cosines`, made on first use; unpacked profiles are kept per worker process
    # (lists._UNPACKED), so a recent story's arrays are made once, not once a list.
    _hashed: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    def hashed(self) -> tuple[np.ndarray, np.ndarray]:
        """The terms' hashes, sorted, and their weights in the same order (hashes live in this process only)."""
        if self._hashed is None:
            keys = np.fromiter((hash(t) for t in self.vector), dtype=np.int64, count=len(self.vector))
            weights = np.fromiter(self.vector.values(), dtype=np.float64, count=len(self.vector))
            order = np.argsort(keys)
            self._hashed = (keys[order], weights[order])
        return self._hashed

    def pack(self) -> str:
        """One string for the hot profile cache (Redis): terms, weights, names, editors' links, fields."""
        terms, weights = pack_vector(self.vector)
        shown = json.dumps(self.fields, ensure_ascii=False, separators=(",", ":"))  # no raw tab: JSON escapes it
        return "\t".join((terms, weights, "|".join(self.names), " ".join(self.editor_uids), shown))

    @classmethod
    def unpack(cls, uid: str, packed: str) -> Profile:
        terms, weights, names, links, *shown = packed.split("\t")
        fields = json.loads(shown[0]) if shown else {}
        return cls(uid, unpack_vector(terms, weights), names.split("|") if names else [], links.split(), fields)

    def top_terms(self, n: int) -> list[tuple[str, float]]:
        return sorted(self.vector.items(), key=lambda tw: -tw[1])[:n]


@dataclass
class Candidate:
    """A candidate as the first stage found it: its stored fields, its first-stage score and profile."""

    source: dict[str, Any]
    first_score: float
    profile: Profile | None = None
    linked_rank: int | None = None  # its place among the stories the newsroom's editors linked most lately


# ---------------------------------------------------------------------------------------------- vectors


def tfidf_vector(term_vectors: dict[str, Any], *, limit: int = VECTOR_TERMS) -> dict[str, float]:
    """Unit-length TF-IDF weights from an Elasticsearch term-vectors answer (title and body_text fields):
    sublinear tf, smooth idf from the body field's statistics, title occurrences counted TITLE_WEIGHT times;
    the `limit` heaviest terms kept."""
    n_docs = (term_vectors.get("body_text") or {}).get("field_statistics", {}).get("doc_count", 0)
    tf: dict[str, float] = {}
    df: dict[str, int] = {}
    for name, weight in (("title", TITLE_WEIGHT), ("body_text", 1.0)):
        for term, stats in (term_vectors.get(name) or {}).get("terms", {}).items():
            tf[term] = tf.get(term, 0.0) + weight * stats.get("term_freq", 1)
            df[term] = max(df.get(term, 0), stats.get("doc_freq", 0))
    weights = {
        term: (1 + math.log(count)) * (math.log((n_docs + 1) / (df[term] + 1)) + 1)
        for term, count in tf.items()
        if count > 0
    }
    kept = sorted(weights.items(), key=lambda tw: -tw[1])[:limit]
    norm = math.sqrt(sum(w * w for _, w in kept)) or 1.0
    return {term: round(w / norm, 5) for term, w in kept}


def pack_vector(vector: dict[str, float]) -> tuple[str, str]:
    """A profile vector as stored: its terms joined by spaces (tokens never hold one) and its weights as
    base64 float16. 50 of them are read per list; decoding these costs a fraction of JSON objects."""
    weights = np.asarray(list(vector.values()), dtype=np.float16)
    return " ".join(vector), base64.b64encode(weights.tobytes()).decode()


def unpack_vector(terms: str, weights: str) -> dict[str, float]:
    values = np.frombuffer(base64.b64decode(weights), dtype=np.float16).tolist()
    return dict(zip(terms.split(), values, strict=False))


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two unit vectors (what tfidf_vector returns), over the terms they share."""
    return sum([a[t] * b[t] for t in a.keys() & b.keys()])


def cosines(own: Profile, others: list[Profile | None]) -> list[float]:
    """`cosine` of one profile with each of many (0 for None) in a few array operations: ~200 candidates'
    dict intersections in Python were half of a list's feature time."""
    if not others:
        return []
    keys, weights = own.hashed()
    parts = [p.hashed() if p is not None else (_NO_KEYS, _NO_WEIGHTS) for p in others]
    their_keys = np.concatenate([k for k, _ in parts])
    if not len(keys) or not len(their_keys):
        return [0.0] * len(others)
    their_weights = np.concatenate([w for _, w in parts])
    owner = np.repeat(np.arange(len(others)), [len(k) for k, _ in parts])
    at = np.minimum(np.searchsorted(keys, their_keys), len(keys) - 1)
    shared = keys[at] == their_keys
    products = np.where(shared, weights[at] * their_weights, 0.0)
    return np.bincount(owner, weights=products, minlength=len(others)).tolist()


_NO_KEYS = np.empty(0, dtype=np.int64)
_NO_WEIGHTS = np.empty(0, dtype=np.float64)


# ------------------------------------------------------------------------------------------------ names

# A run of capitalised words ("Prabowo Subianto", "Kota Bandung", "KPU"). Linear: each repetition starts
# at a space the previous word cannot have consumed.
_NAME = re.compile(r"(?<![\w])[A-Z][\w'’-]*+(?:[ \t]++[A-Z][\w'’-]*+)*+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"“”]\s*+)$")
_COMMON = frozenset(
    normalise_title(w)
    for w in [
        "Baca",
        "Juga",
        "Simak",
        "Jakarta",
        "ANTARA",
        "Kompas",
        "Com",
        "Detik",
        "Tribunnews",
        "Sindonews",
        "Selain",
        "Namun",
        "Sementara",
        "Dalam",
        "Saat",
        "Kemudian",
        "Menurut",
        "Ia",
        "Dia",
        "Mereka",
        "Kami",
        "Kita",
        "Hal",
        "Ini",
        "Itu",
        "Pada",
        "Untuk",
        "Dengan",
        "Dari",
        "Yang",
        "Di",
        "Ke",
        "Dan",
        "Senin",
        "Selasa",
        "Rabu",
        "Kamis",
        "Jumat",
        "Sabtu",
        "Minggu",
        "WIB",
        "Foto",
        "Video",
    ]
)


def extract_names(title: str, text: str, *, limit: int = 60) -> list[str]:
    """Capitalised names of the title and text (people, places, organisations), normalised, most
    frequent first; single capitalised words that only start a sentence are not names."""
    counts: dict[str, int] = {}
    for chunk in (title, text[:NAME_TEXT_CHARS]):
        for m in _NAME.finditer(chunk):
            all_words = normalise_title(m.group()).split()
            words = [w for w in all_words if w not in _COMMON]
            if not words:
                continue
            at_start = words[0] == all_words[0] and _SENTENCE_START.search(chunk, max(0, m.start() - 3), m.start())
            if len(words) == 1 and at_start:
                continue
            name = " ".join(words)
            if len(name) >= 3:
                counts[name] = counts.get(name, 0) + 1
    return [n for n, _ in sorted(counts.items(), key=lambda nc: -nc[1])[:limit]]


# ------------------------------------------------------------------------------------------------- time


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_JAKARTA)


def dated_to_the_day(value: str | None) -> bool:
    """A timestamp at local midnight exactly: the source gave the day only (corpora and many CMSs)."""
    when = parse_time(value)
    return bool(when) and when.astimezone(_JAKARTA).time() == datetime.min.time()  # type: ignore[union-attr]


def midnight_of(published_at: str) -> str:
    """The local midnight starting the day of a timestamp: how a source dated to the day only stamps it."""
    when = parse_time(published_at)
    assert when is not None
    return when.astimezone(_JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()


def publish_time_cutoff(published_at: str) -> str:
    """Candidates as at publish time are published before this: the exact timestamp when the article has a
    time of day, the end of its day when it is dated to the day only (its hour is unknown)."""
    when = parse_time(published_at)
    assert when is not None
    if dated_to_the_day(published_at):
        return (when.astimezone(_JAKARTA) + timedelta(days=1)).isoformat()  # already its local midnight
    return when.isoformat()


# ------------------------------------------------------------------------------------------------- rows


@functools.lru_cache(maxsize=65536)
def _title_words(title: str) -> frozenset[str]:
    """A title's words (cached: the same recent stories are candidates of many lists)."""
    return frozenset(_words(title))


def _words(text: str) -> set[str]:
    return {w for w in normalise_title(text).split() if len(w) >= 3}


NOT_LINKED = 100  # linked_rank of a candidate no editor linked lately


def feature_rows(article: dict[str, Any], own: Profile, candidates: list[Candidate]) -> list[list[float]]:
    """One row of FEATURES per candidate, in the candidates' order."""
    cos = cosines(own, [c.profile for c in candidates])
    cos_order = _ranks([-c for c in cos])
    best = max(cos, default=0.0) or 1.0
    top_first = max((c.first_score for c in candidates), default=0.0) or 1.0
    origin = parse_time(article.get("published_at"))
    times = [parse_time(c.source.get("published_at")) for c in candidates]
    gaps = [abs((t - origin).total_seconds()) / 3600 if t and origin else 24 * 365.0 for t in times]
    gap_order = _ranks(gaps)
    recency = _ranks([-(t.timestamp() if t else float("-inf")) for t in times])
    day_only = 1.0 if dated_to_the_day(article.get("published_at")) else 0.0
    title_words = _words(article.get("title") or "")
    text_words = title_words | set(own.vector)  # stems and words: a title word found either way counts
    text_words |= _words((article.get("body_text") or "")[:NAME_TEXT_CHARS])
    own_names = set(own.names)
    own_tags = set(article.get("tags") or [])
    ids = {c.source.get("uid") for c in candidates}
    # The stories editors put side by side: how many of the other candidates link this one.
    linked_by: dict[str, int] = {}
    for c in candidates:
        for target in set(c.profile.editor_uids if c.profile else []):
            linked_by[target] = linked_by.get(target, 0) + 1
    rows = []
    for i, c in enumerate(candidates):
        src = c.source
        cand_title = _title_words(src.get("title") or "")
        union = title_words | cand_title
        names = set(c.profile.names) if c.profile else set()
        rows.append(
            [
                c.first_score / top_first,
                float(i),
                cos[i],
                cos[i] / best,
                cos_order[i],
                len(title_words & cand_title) / len(union) if union else 0.0,
                len(cand_title & text_words) / len(cand_title) if cand_title else 0.0,
                float(len(own_names & names)),
                len(own_names & names) / len(own_names | names) if own_names | names else 0.0,
                math.log1p(gaps[i]),
                gap_order[i],
                1.0 if (when := times[i]) is not None and origin is not None and when <= origin else 0.0,
                recency[i],
                day_only,
                1.0 if src.get("section") and src.get("section") == article.get("section") else 0.0,
                float(len(own_tags & set(src.get("tags") or []))),
                float(linked_by.get(src.get("uid") or "", 0)),
                float(len(set(c.profile.editor_uids if c.profile else []) & ids)),
                math.log1p(len(c.profile.vector) if c.profile else 0),
                float(c.linked_rank if c.linked_rank is not None else NOT_LINKED),
            ]
        )
    return rows


def _ranks(values: list[float]) -> list[float]:
    """0 for the smallest value, 1 for the next, in the values' order."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    for rank, i in enumerate(order):
        ranks[i] = float(rank)
    return ranks


def distinct(scored: list[tuple[float, Candidate]], *, own_title: str, k: int) -> list[tuple[float, Candidate]]:
    """The best k whose titles are neither the article's own nor a near-duplicate of one already kept."""
    out: list[tuple[float, Candidate]] = []
    seen_titles = {normalise_title(own_title)}
    for score, cand in scored:
        title = normalise_title(cand.source.get("title") or "")
        if title in seen_titles or _near_duplicate(title, seen_titles):
            continue
        seen_titles.add(title)
        out.append((score, cand))
        if len(out) == k:
            break
    return out


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


RECENCY_WEIGHT = 0.2  # the plain fallback: cosine times at most +20 % for same-day candidates
RECENCY_DAYS = 30.0


def fallback_scores(rows: list[list[float]]) -> list[float]:
    """Without a model: TF-IDF cosine times a gentle recency factor (the engine before the ranker)."""
    cos, hours = FEATURES.index("cosine"), FEATURES.index("log_hours_gap")
    return [r[cos] * (1 + RECENCY_WEIGHT * math.exp(-math.expm1(r[hours]) / 24 / RECENCY_DAYS)) for r in rows]
