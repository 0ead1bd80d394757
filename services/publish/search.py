"""Search query building: user text never reaches Elasticsearch as query syntax."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch

from shared.es import IndexNames

PUBLISHED = "published"


def build_query(q: str) -> dict[str, Any]:
    """Stemmed Indonesian matching with title and phrase boosts, and freshness as a tie-breaker."""
    text = q.strip()
    if not text:
        return {"bool": {"filter": [{"term": {"status": PUBLISHED}}]}}
    relevance = {
        "bool": {
            "must": [
                {
                    "multi_match": {
                        "query": text,
                        "fields": ["title^3", "dek^2", "body_text"],
                        "type": "most_fields",
                        "operator": "or",
                        "minimum_should_match": "60%",
                    }
                }
            ],
            "should": [
                {"match_phrase": {"title.exact": {"query": text, "boost": 4}}},
                {"match_phrase": {"body_text.exact": {"query": text, "slop": 2, "boost": 2}}},
            ],
            "filter": [{"term": {"status": PUBLISHED}}],
        }
    }
    return {
        "function_score": {
            "query": relevance,
            "functions": [
                {
                    "gauss": {"published_at": {"origin": "now", "scale": "60d", "offset": "3d", "decay": 0.5}},
                    "weight": 1,
                },
                {"weight": 1},
            ],
            # Freshness nudges, it does not dominate: score * (1 + decay) keeps relevance first.
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


async def search(*, es: AsyncElasticsearch, names: IndexNames, q: str, page: int = 1, size: int = 20) -> dict[str, Any]:
    resp = await es.search(
        index=names.articles,
        query=build_query(q),
        from_=(page - 1) * size,
        size=size,
        source_excludes=["body_html", "body_text", "title_suggest"],
        highlight={
            "fields": {
                "body_text": {"fragment_size": 160, "number_of_fragments": 1},
                "title": {"number_of_fragments": 0},
            },
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "encoder": "html",
        },
        track_total_hits=True,
    )
    hits = resp["hits"]
    return {
        "total": hits["total"]["value"],
        "page": page,
        "results": [{**h["_source"], "score": h["_score"], "highlight": h.get("highlight", {})} for h in hits["hits"]],
    }
