"""Build the related-link reranker shipped with the index worker (services/index/related/models/).

Loads every linked corpus under ../shared/data/raw (flat text, through the real indexer), takes the
editors' "Baca juga" links as labels (harness/related.py), builds the engine's candidates and features as
at publish time, and trains LightGBM lambdarank on all of them (and on each timestamped source again as if
dated to the day only; docs/related.md). Needs Elasticsearch and Redis (`scripts/services.sh up`).
Deterministic for the same candidates; Elasticsearch can order equal scores differently from load to load.

    python -m scripts.train_ranker [--out services/index/related/models/ranker-v2.txt]

bench/related_eval.py measures the same model family on splits it never trained on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import related as linked_data
from services.index.related.ranker import DEFAULT_MODEL
from shared import corpora


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--corpora", default=",".join(corpora.linked_corpus_names()))
    args = parser.parse_args()
    corpus_names = [c for c in args.corpora.split(",") if c]
    with linked_data.linked_under_temporary_prefix("train", corpus_names=corpus_names) as (es, redis, names, linked):
        gold = linked_data.as_at_publish(linked)
        groups = linked_data.groups(es=es, names=names, linked=linked, gold=gold, redis=redis)
        # Each source also as if dated to the day only, as some outlets date their stories.
        day_only = linked_data.groups(es=es, names=names, linked=linked, gold=gold, redis=redis, as_day_only=True)
        booster = linked_data.train(groups + day_only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(args.out))
    card = linked_data.model_card(
        booster,
        groups_used=sum(1 for g in groups if any(g.labels)),
        day_only=sum(1 for g in day_only if any(g.labels)),
        links=sum(map(len, gold.values())),
        corpus_names=corpus_names,
    )
    args.out.with_suffix(".md").write_text(f"# {args.out.name}\n\n{card}\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {card}")


if __name__ == "__main__":
    main()
