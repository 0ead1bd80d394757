"""Related-link quality on editors' own links: Kabar next to TF-IDF and an ElasticPress-style
more_like_this, in the same run, on splits the model never trained on.

Loads the linked corpora (shared/data/README.md sections 4, 7–9) as FLAT text (paragraphs run together,
as scraped archives hold them) through the real indexer and settles every article as the related workers
do; gold links come from the paragraph layout by the README rule (harness/related.py). Reports:

1. Editor-link parsing on flat text: the (article, target) pairs Kabar resolved against the gold pairs,
   precision and recall per corpus.
2. Computed links as at publish time (candidates published before the article: its exact time, or its
   day when it is dated to the day only): R@5, MRR, nDCG@5 and candidate recall, per corpus, for
   - kabar: the reranker trained leave-one-outlet-out (each outlet scored by a model that never saw it),
   - kabar-bydate: trained on each corpus's earlier 70 % of sources, scored on the later 30 %,
   - kabar-plain: the fallback without a model (TF-IDF cosine over stored profiles, recency),
   - tfidf: word uni+bigram TF-IDF cosine (sublinear tf) over the same settled text,
   - mlt: ElasticPress's related-posts query (more_like_this, max_query_terms 12) over the same index,
   with a bootstrap 95 % interval of kabar − tfidf R@5 pooled over the held-out outlets.
3. Speed: ms per related list with the shipped model through lists.similar_articles, and the per-article
   settle cost (links, cut, profile) paid once per revision. With --filler N, measured again (same lists,
   same run) after N articles of the unlinked corpora joined the newsrooms' archives: how list time grows
   with what the first stage searches.

    python -m bench.related_eval [--limit N] [--corpora ppw,indonews,...] [--filler N]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from redis import Redis
from sklearn.feature_extraction.text import TfidfVectorizer

from harness import related as linked_data
from harness.results import emit, percentile, print_table
from services.index.related import features, lists, ranker
from shared import corpora
from shared.es import ONLY_PUBLISHED, IndexNames

BENCH = "related_eval"
K = 5
Ranked = dict[str, list[str]]


# ---------------------------------------------------------------------------------------------- metrics


def per_source(ranked: Ranked, gold: dict[str, set[str]]) -> dict[str, tuple[int, int, float, float]]:
    """uid -> (found in top 5, gold links, reciprocal rank, nDCG@5)."""
    out = {}
    for uid, wanted in gold.items():
        top = ranked.get(uid, [])[:K]
        gains = [1.0 if u in wanted else 0.0 for u in top]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(wanted), K)))
        rr = next((1 / (i + 1) for i, u in enumerate(top) if u in wanted), 0.0)
        out[uid] = (int(sum(gains)), len(wanted), rr, dcg / ideal if ideal else 0.0)
    return out


def summarise(stats: dict[str, tuple[int, int, float, float]]) -> dict[str, float]:
    n = max(len(stats), 1)
    found = sum(s[0] for s in stats.values())
    total = max(sum(s[1] for s in stats.values()), 1)
    return {
        "r@5": round(found / total, 3),
        "mrr": round(sum(s[2] for s in stats.values()) / n, 3),
        "ndcg@5": round(sum(s[3] for s in stats.values()) / n, 3),
    }


def bootstrap_diff(
    a: dict[str, tuple[int, int, float, float]], b: dict[str, tuple[int, int, float, float]], *, rounds: int = 2000
) -> tuple[float, float, float]:
    """R@5 of a minus b, with a 95 % interval from resampling source articles."""
    uids = sorted(set(a) & set(b))
    rng = random.Random(11)

    def diff(sample: list[str]) -> float:
        total = max(sum(a[u][1] for u in sample), 1)
        return (sum(a[u][0] for u in sample) - sum(b[u][0] for u in sample)) / total

    draws = [diff([rng.choice(uids) for _ in uids]) for _ in range(rounds)]
    return diff(uids), percentile(draws, 2.5), percentile(draws, 97.5)


# ------------------------------------------------------------------------------------------------ engines


def rank_groups(
    groups: list[linked_data.Group], score: Callable[[list[list[float]]], list[float]], docs: Any
) -> Ranked:
    """Order each group's candidates by score and drop near-duplicate titles, as the engine does."""
    ranked = {}
    for g in groups:
        scores = score(g.rows) if g.rows else []
        cands = [features.Candidate(docs[u], 0.0) for u in g.candidates]
        kept = features.distinct(
            sorted(zip(scores, cands, strict=True), key=lambda sc: -sc[0]), own_title=docs[g.uid]["title"], k=K
        )
        ranked[g.uid] = [c.source["uid"] for _, c in kept]
    return ranked


def tfidf_ranks(linked: linked_data.Linked, gold: dict[str, set[str]]) -> tuple[Ranked, float]:
    """Word uni+bigram TF-IDF cosine within each newsroom, candidates as at publish time."""
    t0 = time.perf_counter()
    ranked: Ranked = {}
    rooms: dict[str, list[dict[str, Any]]] = {}
    for doc in linked.docs.values():
        if doc.get("status") == "published":
            rooms.setdefault(doc["newsroom"], []).append(doc)
    for docs in rooms.values():
        wanted = [i for i, d in enumerate(docs) if d["uid"] in gold]
        if not wanted:
            continue
        matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(
            [f"{d.get('title', '')}\n{d.get('body_text', '')}" for d in docs]
        )
        stamps = np.array([_stamp(d.get("published_at")) for d in docs])
        for i in wanted:
            sims = (matrix @ matrix[i].T).toarray().ravel()
            cutoff = _stamp(features.publish_time_cutoff(docs[i]["published_at"]))
            sims[stamps >= cutoff] = -1
            sims[i] = -1
            ranked[docs[i]["uid"]] = [docs[j]["uid"] for j in np.argsort(-sims)[:K] if sims[j] > 0]
    return ranked, (time.perf_counter() - t0) * 1000 / max(len(gold), 1)


def _stamp(value: str | None) -> float:
    when = features.parse_time(value)
    return when.timestamp() if when else float("inf")


def mlt_ranks(
    es: Elasticsearch, names: IndexNames, linked: linked_data.Linked, gold: dict[str, set[str]]
) -> tuple[Ranked, float]:
    """ElasticPress's related posts: more_like_this on title and content, its default 12 query terms."""
    t0 = time.perf_counter()
    ranked: Ranked = {}
    for uid in gold:
        doc = linked.docs[uid]
        query = {
            "bool": {
                "must": [
                    {
                        "more_like_this": {
                            "fields": ["title", "body_text"],
                            "like": [{"_index": names.articles, "_id": uid}],
                            "min_term_freq": 1,
                            "max_query_terms": 12,
                            "min_doc_freq": 1,
                        }
                    }
                ],
                "filter": [
                    ONLY_PUBLISHED,
                    {"term": {"newsroom": doc["newsroom"]}},
                    {"range": {"published_at": {"lt": features.publish_time_cutoff(doc["published_at"])}}},
                ],
            }
        }
        hits = es.search(index=names.articles, query=query, size=K, source=False)["hits"]["hits"]
        ranked[uid] = [h["_id"] for h in hits]
    return ranked, (time.perf_counter() - t0) * 1000 / max(len(gold), 1)


def _fit_and_score(train_on: list[linked_data.Group], test: list[linked_data.Group], docs: Any) -> Ranked:
    if not test:
        return {}
    booster = linked_data.train(train_on)
    return rank_groups(test, lambda rows: list(booster.predict(np.asarray(rows))), docs)


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default=",".join(corpora.linked_corpus_names()))
    parser.add_argument("--limit", type=int, default=None, help="articles per corpus (quick runs)")
    parser.add_argument("--speed-sample", type=int, default=300)
    parser.add_argument("--filler", type=int, default=0, help="then time lists again with N more articles")
    args = parser.parse_args()
    corpus_names = [c for c in args.corpora.split(",") if c]
    with linked_data.linked_under_temporary_prefix("eval", corpus_names=corpus_names, limit=args.limit) as loaded:
        es, redis, names, linked = loaded
        report(
            es=es,
            redis=redis,
            names=names,
            linked=linked,
            corpus_names=corpus_names,
            speed_sample=args.speed_sample,
            filler=args.filler,
        )


def report(
    *,
    es: Elasticsearch,
    redis: Redis,
    names: IndexNames,
    linked: linked_data.Linked,
    corpus_names: list[str],
    speed_sample: int,
    filler: int = 0,
) -> None:
    docs = linked.docs
    print(
        f"loaded {len(docs)} articles, {sum(map(len, linked.gold.values()))} gold links "
        f"(prepare {linked.seconds['prepare']:.0f} s, index {linked.seconds['index']:.0f} s, "
        f"settle {linked.seconds['settle']:.0f} s, "
        f"{1000 * linked.seconds['settle'] / max(len(docs), 1):.1f} ms/article)"
    )
    # 1. Parsing on flat text.
    parse_rows = []
    for corpus in [*corpus_names, "pooled"]:
        in_corpus = {u for u, c in linked.corpus_of.items() if corpus in (c, "pooled")}
        gold_pairs = {(u, t) for u, ts in linked.gold.items() if u in in_corpus for t in ts}
        found_pairs = {(u, t) for u, p in linked.profiles.items() if u in in_corpus for t in p.editor_uids}
        hit = len(gold_pairs & found_pairs)
        row = {
            "corpus": corpus,
            "gold_links": len(gold_pairs),
            "parsed_links": len(found_pairs),
            "precision": round(hit / max(len(found_pairs), 1), 3),
            "recall": round(hit / max(len(gold_pairs), 1), 3),
        }
        parse_rows.append(row)
        for metric in ("precision", "recall"):
            emit(BENCH, f"parse_{metric}", row[metric], "share", corpus=corpus, gold_links=row["gold_links"])
    print_table(parse_rows, list(parse_rows[0]), title="editors' links parsed from flat text")

    # 2. Computed links as at publish time.
    gold = linked_data.as_at_publish(linked)
    t0 = time.perf_counter()
    groups = linked_data.groups(es=es, names=names, linked=linked, gold=gold, redis=redis)
    stage_ms = (time.perf_counter() - t0) * 1000 / max(len(groups), 1)
    by_uid = {g.uid: g for g in groups}
    # Each training source also as if dated to the day only (harness.related.groups): trained with its own.
    day_only = linked_data.groups(es=es, names=names, linked=linked, gold=gold, redis=redis, as_day_only=True)
    outlets = sorted({linked.outlet_of[g.uid] for g in groups})
    loo: Ranked = {}
    for held_out in outlets:
        test = [g for g in groups if linked.outlet_of[g.uid] == held_out]
        train_on = [g for g in groups + day_only if linked.outlet_of[g.uid] != held_out]
        loo.update(_fit_and_score(train_on, test, docs))
    bydate: Ranked = {}
    date_test: set[str] = set()
    train_on = []
    for corpus in corpus_names:
        ordered = sorted(
            (g for g in groups if linked.corpus_of[g.uid] == corpus), key=lambda g: _stamp(docs[g.uid]["published_at"])
        )
        cut = int(len(ordered) * 0.7)
        train_on += ordered[:cut]
        date_test |= {g.uid for g in ordered[cut:]}
    train_on += [g for g in day_only if g.uid not in date_test]
    bydate = _fit_and_score(train_on, [by_uid[u] for u in date_test], docs)
    plain = rank_groups(groups, features.fallback_scores, docs)
    tfidf, tfidf_ms = tfidf_ranks(linked, gold)
    mlt, mlt_ms = mlt_ranks(es, names, linked, gold)
    engines: list[tuple[str, Ranked, dict[str, set[str]], float | None]] = [
        ("kabar", loo, gold, stage_ms),
        ("kabar-bydate", bydate, {u: gold[u] for u in date_test}, stage_ms),
        ("kabar-plain", plain, gold, stage_ms),
        ("tfidf", tfidf, gold, tfidf_ms),
        ("tfidf-bydate", tfidf, {u: gold[u] for u in date_test}, tfidf_ms),
        ("mlt", mlt, gold, mlt_ms),
    ]
    rows = []
    stats_of: dict[str, dict[str, tuple[int, int, float, float]]] = {}
    for engine, ranked, g, ms in engines:
        stats = per_source(ranked, g)
        stats_of[engine] = stats
        for corpus in [*corpus_names, "pooled"]:
            part = {u: s for u, s in stats.items() if corpus in (linked.corpus_of[u], "pooled")}
            if not part:
                continue
            cands = [by_uid[u] for u in part]
            total = sum(s[1] for s in part.values())
            recall = 1 - sum(c.missed for c in cands) / max(total, 1)
            row = {
                "corpus": corpus,
                "engine": engine,
                "sources": len(part),
                "links": total,
                **summarise(part),
                "cand_recall": round(recall, 3) if engine.startswith("kabar") else None,
                "ms_per_article": round(ms, 1) if ms is not None else None,
            }
            rows.append(row)
            for metric in ("r@5", "mrr", "ndcg@5", "cand_recall", "ms_per_article"):
                if row[metric] is not None:
                    emit(
                        BENCH,
                        metric,
                        row[metric],
                        "ms" if metric.startswith("ms") else "share",
                        corpus=corpus,
                        engine=engine,
                    )
    print_table(rows, list(rows[0]), title="computed links as at publish time (held-out splits)")
    diffs = []
    for name, a, b in (
        ("loo", "kabar", "tfidf"),
        ("bydate", "kabar-bydate", "tfidf-bydate"),
        ("plain", "kabar-plain", "tfidf"),
    ):
        d, lo, hi = bootstrap_diff(stats_of[a], stats_of[b])
        diffs.append(
            {"split": name, "kabar_minus_tfidf_r@5": round(d, 3), "ci95_low": round(lo, 3), "ci95_high": round(hi, 3)}
        )
        emit(
            BENCH,
            "r@5_gain_over_tfidf",
            round(d, 3),
            "share",
            split=name,
            ci95_low=round(lo, 3),
            ci95_high=round(hi, 3),
        )
    for corpus in corpus_names:
        part = {u for u, c in linked.corpus_of.items() if c == corpus}
        a = {u: v for u, v in stats_of["kabar"].items() if u in part}
        b = {u: v for u, v in stats_of["tfidf"].items() if u in part}
        if a:
            d, lo, hi = bootstrap_diff(a, b)
            diffs.append(
                {
                    "split": f"loo {corpus}",
                    "kabar_minus_tfidf_r@5": round(d, 3),
                    "ci95_low": round(lo, 3),
                    "ci95_high": round(hi, 3),
                }
            )
            emit(
                BENCH,
                "r@5_gain_over_tfidf",
                round(d, 3),
                "share",
                split="loo",
                corpus=corpus,
                ci95_low=round(lo, 3),
                ci95_high=round(hi, 3),
            )
    print_table(diffs, list(diffs[0]), title="R@5 gain over TF-IDF, bootstrap 95 % interval over source articles")

    # 3. Speed of one list with the shipped model, through the serving path; with filler, again on a bigger
    # archive, the same lists in the same run.
    model = ranker.shared()
    sample = list(gold)[:speed_sample]
    speeds = [_list_speed(es, redis, names, linked, sample, model, archive=len(docs))]
    if filler:
        newsrooms = sorted({str(docs[uid]["newsroom"]) for uid in sample})
        added = linked_data.add_filler(es=es, redis=redis, names=names, newsrooms=newsrooms, count=filler)
        speeds.append(_list_speed(es, redis, names, linked, sample, model, archive=len(docs) + added))
    for speed in speeds:
        for metric in ("p50_ms", "p95_ms"):
            emit(BENCH, f"list_{metric}", speed[metric], "ms", model=model.name, archive=speed["archive"])
    settle_ms = round(1000 * linked.seconds["settle"] / max(len(docs), 1), 1)
    emit(BENCH, "list_settle_ms_per_article", settle_ms, "ms", model=model.name)
    print_table(speeds, list(speeds[0]), title="one related list (candidates, profiles, features, model)")
    print(f"settling an article (links, cut, profile; once per revision): {settle_ms} ms")


def _list_speed(
    es: Elasticsearch,
    redis: Redis,
    names: IndexNames,
    linked: linked_data.Linked,
    sample: list[str],
    model: ranker.Ranker,
    *,
    archive: int,
) -> dict[str, Any]:
    timings = []
    for uid in sample:
        t0 = time.perf_counter()
        lists.similar_articles(
            es=es,
            names=names,
            article=linked.docs[uid],
            profile=linked.profiles.get(uid) or features.Profile(uid=uid),
            k=K,
            ranker=model,
            redis=redis,
        )
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "model": model.name,
        "archive": archive,
        "lists": len(timings),
        "p50_ms": round(percentile(timings, 50), 1),
        "p95_ms": round(percentile(timings, 95), 1),
    }


if __name__ == "__main__":
    main()
