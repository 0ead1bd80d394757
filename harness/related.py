"""Editors' links as labelled data: load the linked corpora through the real indexer, work out the gold
links independently of the engine, and turn the engine's candidates into training rows.

bench/related_eval.py (evaluation) and scripts/train_ranker.py (the shipped model) share this module, so
what is measured is what is trained and served.

Gold links come from the corpus bodies as the editors laid them out (paragraphs), resolved by the rule of
shared/data/README.md (the longest known title of the same newsroom, at least 15 normalised characters,
that prefixes the link text; an href to a known URL first). The engine is fed FLAT variants of the same
articles (paragraphs joined into one), as scraped archives arrive, and must find those links itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from elasticsearch import Elasticsearch, helpers
from redis import Redis

from harness.cleanup import drop_prefix
from harness.corpus import replay, upsert_event
from services.index.indexing.backfill import apply_in_batches
from services.index.related import features, lists
from shared import corpora
from shared.es import IndexNames, create_client, ensure_indices
from shared.models import ArticleIn
from shared.redisconn import redis_client
from shared.settings import KabarSettings
from shared.state import StateStore
from shared.text import normalise_title

MIN_TITLE_CHARS = lists.MIN_TITLE_CHARS


def outlet(raw: dict[str, Any], corpus: str) -> str:
    """The outlet (registrable domain) an article comes from: one newsroom per outlet."""
    host = urlparse(raw.get("canonical_url") or "").hostname or (raw.get("source") or corpus)
    parts = host.lower().removeprefix("www.").split(".")
    return ".".join(parts[-3:] if parts[-2:-1] == ["co"] else parts[-2:]) if len(parts) >= 2 else host


def newsroom_of(raw: dict[str, Any], corpus: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{corpus}-{outlet(raw, corpus).split('.')[0]}").strip("-")


def flat(raw: dict[str, Any]) -> dict[str, Any]:
    """The same article with its paragraphs run together, as scraped archives hold it."""
    out = {**raw}
    if raw.get("body_paragraphs"):
        out["body_paragraphs"] = [" ".join(p.strip() for p in raw["body_paragraphs"] if p.strip())]
    elif raw.get("body"):
        inner = re.sub(r"</?(?:p|div|br|h[1-6]|li|ul|ol)\b[^>]*+>", " ", raw["body"], flags=re.I)
        out["body"] = f"<p>{inner}</p>"
    return out


@dataclass
class Linked:
    """The linked corpora loaded under one prefix: stored documents, gold links, outlets."""

    docs: dict[str, dict[str, Any]]
    gold: dict[str, set[str]]  # source uid -> target uids (paragraph layout, README rule)
    corpus_of: dict[str, str]
    outlet_of: dict[str, str]
    profiles: dict[str, features.Profile] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    dated: set[str] = field(default_factory=set)  # articles whose corpus row gave a publication date


# The README's rule (shared/data/README.md, "How Baca juga resolution was measured", sections 7-9), written
# apart from Kabar's parser so that the parser is measured against it, not against itself.
_GOLD_MARKER = re.compile(r"(?:baca|simak)\s{1,5}(?:juga|pula)|\bbaca\s{0,3}:", re.I)
_GOLD_HREF = re.compile(
    r"\A[\s:\-–—]{0,10}(?:<[^<>]{0,300}>[\s:]{0,5}){0,4}<a\b[^<>]{0,500}?href=\"([^\"]{1,500})\"", re.I
)
_GOLD_TAG = re.compile(r"<[^<>]{0,1000}>")


def _gold_markers(raw: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(the 300 normalised characters after each marker, the href right after it in HTML bodies)."""
    if raw.get("body_paragraphs"):
        markup, text = "", "\n".join(raw["body_paragraphs"])
    else:
        markup = raw.get("body") or ""
        text = html.unescape(_GOLD_TAG.sub(" ", markup))
    out: list[tuple[str, str | None]] = [
        (normalise_title(text[m.end() : m.end() + 300]), None) for m in _GOLD_MARKER.finditer(text)
    ]
    hrefs = [h.group(1) for m in _GOLD_MARKER.finditer(markup) if (h := _GOLD_HREF.match(markup, m.end()))]
    return out + [("", href) for href in hrefs]


def _gold_links(raws: list[tuple[str, str, dict[str, Any]]]) -> dict[str, set[str]]:
    """Resolve every article's markers by the README rule, newsroom by newsroom: an href to a known URL,
    else the longest known title (at least 15 normalised characters) that prefixes the text after it."""
    urls: dict[tuple[str, str], str] = {}
    index: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for room, uid, raw in raws:
        title = normalise_title(raw.get("title") or "")
        if len(title) >= MIN_TITLE_CHARS:
            # A link text can only be prefixed by titles sharing its first two words.
            index.setdefault((room, " ".join(title.split()[:2])), []).append((title, uid))
        if raw.get("canonical_url"):
            urls[(room, raw["canonical_url"].split("?")[0].rstrip("/"))] = uid
    gold: dict[str, set[str]] = {}
    for room, uid, raw in raws:
        for text, href in _gold_markers(raw):
            if href:
                target = urls.get((room, href.split("?")[0].rstrip("/")))
            else:
                candidates = index.get((room, " ".join(text.split()[:2])), [])
                best = max(
                    ((t, u) for t, u in candidates if text.startswith(t)), default=None, key=lambda tu: len(tu[0])
                )
                target = best[1] if best else None
            if target and target != uid:
                gold.setdefault(uid, set()).add(target)
    return gold


def load_linked(
    *, es: Elasticsearch, redis: Redis, names: IndexNames, corpus_names: list[str], limit: int | None = None
) -> Linked:
    """Index the flat variants with the real indexer and settle every article (links resolved, titles cut,
    profiles stored) as the related workers would; return documents and gold."""
    raws: list[tuple[str, str, dict[str, Any]]] = []
    corpus_of: dict[str, str] = {}
    outlet_of: dict[str, str] = {}
    dated: dict[str, bool] = {}
    events = []
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    for corpus in corpus_names:
        for raw in list(corpora.load(corpus, corpora.raw_dir()))[:limit]:
            try:
                ArticleIn.model_validate(raw)
            except ValueError:
                continue
            room = newsroom_of(raw, corpus)
            event = upsert_event(flat(raw), newsroom=room)
            raws.append((room, event.uid, raw))
            dated[event.uid] = bool(raw.get("published_at"))
            corpus_of[event.uid] = corpus
            outlet_of[event.uid] = outlet(raw, corpus)
            events.append(event)
    seconds["prepare"] = time.perf_counter() - t0
    profiles = index_and_settle(es=es, redis=redis, names=names, events=events, seconds=seconds)
    gold = _gold_links(raws)
    docs = {h["_id"]: h["_source"] for h in helpers.scan(es, index=names.articles, query={"query": {"match_all": {}}})}
    return Linked(docs, gold, corpus_of, outlet_of, profiles, seconds, {u for u, d in dated.items() if d})


def index_and_settle(
    *, es: Elasticsearch, redis: Redis, names: IndexNames, events: list[Any], seconds: dict[str, float]
) -> dict[str, features.Profile]:
    """Index events with the real indexer, then settle each article as the related workers would (links
    resolved, titles cut, profile stored and cached); the two stages' seconds go into `seconds`."""
    t0 = time.perf_counter()
    apply_in_batches(es=es, store=StateStore(redis, names.prefix), names=names, events=events)
    es.indices.refresh(index=names.articles)
    seconds["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    profiles = {}
    for event in events:
        settled = lists.store_profile(es=es, names=names, uid=event.uid, redis=redis)
        if settled:
            profiles[event.uid] = settled.profile
    es.indices.refresh(index=f"{names.articles},{names.related}")
    seconds["settle"] = time.perf_counter() - t0
    return profiles


def add_filler(*, es: Elasticsearch, redis: Redis, names: IndexNames, newsrooms: list[str], count: int) -> int:
    """Grow the newsrooms' archives (what a list's first stage searches) by `count` articles of the unlinked
    corpora ('all', round again with fresh ids past its ~6,400), dealt round-robin, as flat text, indexed and
    settled like the rest; returns how many."""
    filler = itertools.islice(replay("all", tag=f"filler-{uuid.uuid4().hex[:6]}"), count)
    events = [upsert_event(flat(raw), newsroom=newsrooms[n % len(newsrooms)]) for n, raw in enumerate(filler)]
    index_and_settle(es=es, redis=redis, names=names, events=events, seconds={})
    return len(events)


@contextlib.contextmanager
def linked_under_temporary_prefix(
    tag: str, *, corpus_names: list[str], limit: int | None = None
) -> Iterator[tuple[Elasticsearch, Redis, IndexNames, Linked]]:
    """The linked corpora loaded under a fresh prefix, dropped afterwards (indices, queues, Redis keys)."""
    prefix = f"{tag}{uuid.uuid4().hex[:8]}"
    settings = KabarSettings(prefix=prefix)
    names = IndexNames(prefix)
    es = create_client(settings).options(request_timeout=120)
    redis = redis_client(settings)
    try:
        ensure_indices(es, names)
        yield es, redis, names, load_linked(es=es, redis=redis, names=names, corpus_names=corpus_names, limit=limit)
    finally:
        es.close()
        redis.close()
        drop_prefix(prefix)


def as_at_publish(linked: Linked) -> dict[str, set[str]]:
    """Gold links an article could have had when it was published (features.publish_time_cutoff).

    An undated article (most of ppw) was stamped with the load time: it can be neither a source nor a
    target as at publish time, so its links are left out rather than guessed."""
    out: dict[str, set[str]] = {}
    for uid, targets in linked.gold.items():
        if uid not in linked.dated:
            continue
        targets = targets & linked.dated
        cutoff = features.parse_time(features.publish_time_cutoff(linked.docs[uid]["published_at"]))
        kept = {
            t
            for t in targets
            if (when := features.parse_time(linked.docs[t].get("published_at"))) is not None
            and cutoff
            and when < cutoff
        }
        if kept:
            out[uid] = kept
    return out


@dataclass
class Group:
    """One source article's candidates as the engine found them, with feature rows and labels."""

    uid: str
    candidates: list[str]
    rows: list[list[float]]
    labels: list[int]
    missed: int  # gold links the candidates do not hold


def groups(
    *,
    es: Elasticsearch,
    names: IndexNames,
    linked: Linked,
    gold: dict[str, set[str]],
    redis: Redis | None = None,
    earlier_only: bool = True,
    as_day_only: bool = False,
) -> list[Group]:
    """The reranker's view of every source with gold links (editors' pins are not excluded: they are the labels).

    as_day_only: training data for articles dated to the day only. Each timestamped source is seen as if its
    outlet gave the day alone (midnight, candidates to the end of that day); sources dated to the day already
    are left out. Without it a model held out from the one day-dated outlet (ppw) never saw such timing, and
    its time features, the strongest, misled it there."""
    out = []
    for uid, targets in gold.items():
        article = linked.docs[uid]
        if as_day_only:
            if features.dated_to_the_day(article.get("published_at")):
                continue
            article = {**article, "published_at": features.midnight_of(article["published_at"])}
        profile = linked.profiles.get(uid) or features.Profile(uid=uid)
        found = lists.candidates(
            es=es, names=names, article=article, profile=profile, redis=redis, earlier_only=earlier_only
        )
        ids = [c.source["uid"] for c in found]
        out.append(
            Group(
                uid=uid,
                candidates=ids,
                rows=features.feature_rows(article, profile, found),
                labels=[int(i in targets) for i in ids],
                missed=len(targets - set(ids)),
            )
        )
    return out


def train(train_groups: list[Group], *, seed: int = 7) -> Any:
    """A LightGBM lambdarank model on the groups that hold at least one gold link."""
    import lightgbm
    import numpy as np

    usable = [g for g in train_groups if any(g.labels)]
    x = np.asarray([r for g in usable for r in g.rows], dtype=np.float64)
    y = np.asarray([label for g in usable for label in g.labels])
    data = lightgbm.Dataset(x, y, group=[len(g.rows) for g in usable], feature_name=features.FEATURES)
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "ndcg_eval_at": [5],
        "learning_rate": 0.05,
        "num_leaves": 7,  # 7, 15, 31 leaves: held-out R@5 0.690, 0.684, 0.675 (bench.related_eval, one run each)
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 10,
        "seed": seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    return lightgbm.train(params, data, num_boost_round=300)


def model_card(booster: Any, *, groups_used: int, day_only: int, links: int, corpus_names: list[str]) -> str:
    digest = hashlib.sha256(booster.model_to_string().encode()).hexdigest()[:12]
    return (
        f"trained on {groups_used} source articles (and {day_only} of them again as if dated to the day only), "
        f"{links} editors' links from {', '.join(corpus_names)}; features {len(features.FEATURES)}; sha256 {digest}"
    )
