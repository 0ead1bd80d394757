"""Related-link quality: Kabar's engine next to a plain TF-IDF cosine baseline, in the same run.

Loads a corpus into a fresh prefix through the real indexer (normalise → apply_events), so the
editors' "Baca juga" lines are already cut out of the indexed text. Gold = those lines resolved to
corpus articles by title prefix (shared/data/README.md). Only computed links are scored (pinned
editors' links are what we compare against, never counted). Two settings, per RELATED.md: as at
publish time (candidates published before the article or on the same day, excluding itself: editors
link earlier stories, often from the same day, and many sources date articles to the day only) and any
time. On the 'summarization' corpus, which has no links, reports how often the top 5 share the section
(aspect) or tag (keyword).

    python -m bench.related_eval
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch, helpers
from redis import Redis
from sklearn.feature_extraction.text import TfidfVectorizer

from harness.cleanup import drop_prefix
from harness.corpus import upsert_event, valid_articles
from harness.results import emit, print_table
from services.index.config import IndexSettings
from services.index.indexing.backfill import apply_in_batches
from services.index.related.lists import similar_articles
from shared.es import IndexNames, create_client, ensure_indices
from shared.state import StateStore
from shared.text import normalise_title

BENCH = "related_eval"
K = 5


def load_corpus(*, es: Elasticsearch, redis: Redis, names: IndexNames, corpus: str) -> list[dict[str, Any]]:
    """Index the corpus with the real indexer; return the stored documents."""
    events = [upsert_event(raw, newsroom="eval") for raw in valid_articles(corpus)]
    apply_in_batches(es=es, store=StateStore(redis, names.prefix), names=names, events=events)
    return [h["_source"] for h in helpers.scan(es, index=names.articles, query={"query": {"match_all": {}}})]


def resolve_gold(docs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Editors' inline links → corpus uids: the longest known title (≥ 15 chars) prefixing the link text."""
    titles = [(normalise_title(d["title"]), d["uid"]) for d in docs]
    titles = [(t, u) for t, u in titles if len(t) >= 15]
    gold: dict[str, set[str]] = {}
    for doc in docs:
        for link in doc.get("editor_related") or []:
            if not link.get("inline"):
                continue
            text = normalise_title(link["title"])
            best = max(
                ((t, u) for t, u in titles if text.startswith(t) and u != doc["uid"]),
                default=None,
                key=lambda tu: len(tu[0]),
            )
            if best:
                gold.setdefault(doc["uid"], set()).add(best[1])
    return gold


def score(ranked: dict[str, list[str]], gold: dict[str, set[str]]) -> dict[str, float]:
    """precision@5, recall@5 (share of all gold links found in the top 5) and MRR, over articles with gold."""
    found = total = 0
    precision = rr = 0.0
    for uid, wanted in gold.items():
        top = ranked.get(uid, [])[:K]
        hits = [u for u in top if u in wanted]
        found += len(hits)
        total += len(wanted)
        precision += len(hits) / K
        rr += next((1 / (i + 1) for i, u in enumerate(top) if u in wanted), 0.0)
    n = max(len(gold), 1)
    return {"p@5": round(precision / n, 3), "r@5": round(found / max(total, 1), 3), "mrr": round(rr / n, 3)}


def engine_ranks(
    *, es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]], uids: set[str], earlier_only: bool
) -> tuple[dict[str, list[str]], float]:
    by_uid = {d["uid"]: d for d in docs}
    ranked = {}
    t0 = time.perf_counter()
    for uid in uids:
        items = similar_articles(es=es, names=names, article=by_uid[uid], k=K, earlier_only=earlier_only)
        ranked[uid] = [i["uid"] for i in items]
    return ranked, (time.perf_counter() - t0) * 1000 / max(len(uids), 1)


def _day(published_at: str | None) -> str:
    """The calendar day in the timestamp's own offset (the engine's earlier_only uses the same rule)."""
    return datetime.fromisoformat(published_at).date().isoformat() if published_at else ""


def tfidf_ranks(docs: list[dict[str, Any]], uids: set[str], earlier_only: bool) -> tuple[dict[str, list[str]], float]:
    t0 = time.perf_counter()
    texts = [f"{d.get('title', '')}\n{d.get('body_text', '')}" for d in docs]
    matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    days = np.array([_day(d.get("published_at")) for d in docs])
    ranked = {}
    for i, doc in enumerate(docs):
        if doc["uid"] not in uids:
            continue
        sims = (matrix @ matrix[i].T).toarray().ravel()
        sims[i] = -1
        if earlier_only:
            sims[days > _day(doc["published_at"])] = -1
        order = [j for j in np.argsort(-sims)[:K] if sims[j] > 0]
        ranked[doc["uid"]] = [docs[j]["uid"] for j in order]
    return ranked, (time.perf_counter() - t0) * 1000 / max(len(uids), 1)


def agreement(ranked: dict[str, list[str]], docs: list[dict[str, Any]]) -> dict[str, float]:
    """Share of top-5 links that share the article's section / any tag."""
    by_uid = {d["uid"]: d for d in docs}
    same_section = same_tag = n = 0
    for uid, top in ranked.items():
        me = by_uid[uid]
        for other in (by_uid[u] for u in top[:K]):
            n += 1
            same_section += other.get("section") == me.get("section")
            same_tag += bool(set(other.get("tags") or []) & set(me.get("tags") or []))
    return {"section@5": round(same_section / max(n, 1), 3), "tag@5": round(same_tag / max(n, 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links-corpus", default="scrapper")
    parser.add_argument("--labels-corpus", default="summarization")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for corpus, kind in ((args.links_corpus, "links"), (args.labels_corpus, "labels")):
        prefix = f"eval{uuid.uuid4().hex[:8]}"
        settings = IndexSettings(prefix=prefix)
        names = IndexNames(prefix)
        es = create_client(settings).options(request_timeout=60)
        redis = Redis.from_url(settings.redis_url)
        try:
            ensure_indices(es, names)
            docs = load_corpus(es=es, redis=redis, names=names, corpus=corpus)
            gold = resolve_gold(docs) if kind == "links" else {}
            for earlier_only in (True, False):
                setting = "publish-time" if earlier_only else "any-time"
                if kind == "links":
                    g = gold
                    if earlier_only:
                        # As at publish time, an article can only link what already existed.
                        by_uid = {d["uid"]: d for d in docs}
                        g = {
                            u: {v for v in vs if _day(by_uid[v]["published_at"]) <= _day(by_uid[u]["published_at"])}
                            for u, vs in gold.items()
                        }
                        g = {u: vs for u, vs in g.items() if vs}
                    uids = set(g)
                else:
                    uids = {d["uid"] for d in docs}
                for name, (ranked, ms) in (
                    ("kabar", engine_ranks(es=es, names=names, docs=docs, uids=uids, earlier_only=earlier_only)),
                    ("tfidf", tfidf_ranks(docs, uids, earlier_only)),
                ):
                    metrics = score(ranked, g) if kind == "links" else agreement(ranked, docs)
                    labels = {
                        "corpus": corpus,
                        "setting": setting,
                        "engine": name,
                        "articles": len(uids),
                        "gold_links": sum(len(v) for v in g.values()) if kind == "links" else None,
                    }
                    for metric, value in {**metrics, "ms_per_article": round(ms, 1)}.items():
                        emit(BENCH, metric, value, "ms" if metric == "ms_per_article" else "share", **labels)
                    rows.append({**labels, **metrics, "ms_per_article": round(ms, 1)})
        finally:
            es.close()
            redis.close()
            drop_prefix(prefix)
    cols = ["corpus", "setting", "engine", "articles", "p@5", "r@5", "mrr", "section@5", "tag@5", "ms_per_article"]
    print_table(rows, cols, title="related links: Kabar next to TF-IDF")


if __name__ == "__main__":
    main()
