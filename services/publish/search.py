"""Search query building: user text never reaches Elasticsearch as query syntax.

Only match/multi_match/match_phrase take the reader's words, so `"AND OR (` is just three odd words.
Filters go in a post_filter so each facet can count with every *other* filter applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from elasticsearch import AsyncElasticsearch

from shared.es import ONLY_PUBLISHED, IndexNames, is_visible
from shared.models import LOCAL_TZ

# Elasticsearch's default max_result_window: deeper pages would error, so they are refused earlier.
MAX_WINDOW = 10_000
# The typo-tolerant clause expands every term; a few terms are enough to rescue a misspelling.
FUZZY_TERMS = 8
LIST_SOURCE = ["uid", "title", "dek", "path", "section", "section_slug", "published_at", "byline", "authors", "tags"]
FACETS = {"section": "section", "author": "authors", "tag": "tags", "source": "source"}
# The phrase suggester's term statistics include withdrawn articles (and deleted ones until a merge), and
# `collate`, which could filter in Elasticsearch, needs the lang-mustache module this distribution lacks.
# So a few options come back and the first whose corrected words occur in published text is offered.
SUGGEST_OPTIONS = 3
MAX_CHECKED_WORDS = 10
DATE_RANGES = [("24h", "now-1d"), ("7d", "now-7d"), ("30d", "now-30d"), ("1y", "now-1y")]

Sort = Literal["relevance", "newest"]


@dataclass(frozen=True)
class SearchParams:
    """What a reader asked for, validated by the route; every field is optional."""

    q: str = ""
    section: str | None = None
    author: str | None = None
    tag: str | None = None
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: Sort = "relevance"
    page: int = 1
    size: int = 20
    filters: dict[str, str] = field(default_factory=dict, init=False, compare=False)

    def __post_init__(self) -> None:
        chosen = {name: getattr(self, name) for name in FACETS if getattr(self, name)}
        object.__setattr__(self, "filters", chosen)


def clean_text(q: str, *, max_chars: int) -> str:
    """Trim, collapse whitespace and cap length: a 10,000-character paste is still a normal search."""
    return " ".join(q.split())[:max_chars].strip()


def _main_clause(text: str) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": text,
            "fields": ["title^3", "dek^2", "body_text"],
            "type": "most_fields",
            "minimum_should_match": "2<75%",
        }
    }


def relevance_query(text: str) -> dict[str, Any]:
    """Stemmed Indonesian matching, phrase and title boosts, a fuzzy fallback, freshness as a nudge."""
    if not text:
        return {"bool": {"filter": [ONLY_PUBLISHED]}}
    fuzzy_text = " ".join(text.split()[:FUZZY_TERMS])
    relevance = {
        "bool": {
            "should": [
                _main_clause(text),
                # Typo tolerance is a secondary clause with a low boost: exact stems always outrank it.
                {
                    "multi_match": {
                        "query": fuzzy_text,
                        # Titles and deks only: fuzzy expansion over whole bodies costs ~10x at 20 clients.
                        "fields": ["title^2", "dek"],
                        "type": "best_fields",
                        "fuzziness": "AUTO",
                        "prefix_length": 1,
                        "max_expansions": 20,
                        "minimum_should_match": "2<75%",
                        "boost": 0.2,
                    }
                },
                {"match_phrase": {"title.exact": {"query": text, "slop": 1, "boost": 4}}},
                {"match_phrase": {"body_text.exact": {"query": text, "slop": 2, "boost": 2}}},
            ],
            "minimum_should_match": 1,
            "filter": [ONLY_PUBLISHED],
        }
    }
    return {
        "function_score": {
            "query": relevance,
            "functions": [
                {"gauss": {"published_at": {"origin": "now", "scale": "60d", "offset": "3d", "decay": 0.5}}},
                {"weight": 1},
            ],
            # score * (1 + decay): a fresh story can at most double, so relevance still leads.
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


def filter_clauses(params: SearchParams, *, skip: str | None = None) -> list[dict[str, Any]]:
    """The reader's filters as term/range clauses, optionally without one facet's own filter."""
    clauses: list[dict[str, Any]] = [
        {"term": {FACETS[name]: value}} for name, value in params.filters.items() if name != skip
    ]
    if skip != "date" and (params.date_from or params.date_to):
        bounds: dict[str, str] = {"time_zone": LOCAL_TZ}
        if params.date_from:
            bounds["gte"] = params.date_from.isoformat()
        if params.date_to and params.date_to < date.max:
            # The whole last day counts: "to 27 Dec" means up to 23:59 Jakarta time. (9999-12-31, the
            # last date there is, has no next day: it means no upper bound.)
            bounds["lt"] = (params.date_to + timedelta(days=1)).isoformat()
        if len(bounds) > 1:
            clauses.append({"range": {"published_at": bounds}})
    return clauses


def _facet_aggs(params: SearchParams, *, size: int = 10) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name, fld in FACETS.items():
        aggs[name] = {
            "filter": {"bool": {"filter": filter_clauses(params, skip=name)}},
            "aggs": {"values": {"terms": {"field": fld, "size": size}}},
        }
    aggs["date"] = {
        "filter": {"bool": {"filter": filter_clauses(params, skip="date")}},
        "aggs": {
            "values": {
                "date_range": {
                    "field": "published_at",
                    "ranges": [{"key": key, "from": start} for key, start in DATE_RANGES],
                }
            }
        },
    }
    return aggs


def build_request(params: SearchParams, *, max_chars: int = 500) -> dict[str, Any]:
    """The full search body (query, post_filter, facets, highlight, suggesters); also used by the bench."""
    text = clean_text(params.q, max_chars=max_chars)
    body: dict[str, Any] = {
        "query": relevance_query(text),
        "post_filter": {"bool": {"filter": filter_clauses(params)}},
        "aggs": _facet_aggs(params),
        "from": (params.page - 1) * params.size,
        "size": params.size,
        "_source": LIST_SOURCE,
        # Exact counts up to the deepest reachable page; past that "10.000+" is what a reader needs,
        # and counting every match of a broad query costs a fifth of the search.
        "track_total_hits": MAX_WINDOW,
    }
    if params.sort == "newest" or not text:
        body["sort"] = [{"published_at": "desc"}, {"uid": "asc"}]
    if text:
        body["highlight"] = {
            # Highlight what the stemmed clause matched; highlighting fuzzy expansions is the slowest
            # part of a search by far, and misspellings are better not echoed back anyway.
            "highlight_query": _main_clause(text),
            "fields": {
                "body_text": {"fragment_size": 160, "number_of_fragments": 1, "no_match_size": 160},
                "title": {"number_of_fragments": 0},
            },
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            # The html encoder escapes the stored text, so snippets are safe to render with |safe.
            "encoder": "html",
        }
        body["suggest"] = {
            "text": text[:200],
            "did_you_mean": {
                "phrase": {
                    "field": "title.shingle",
                    "size": SUGGEST_OPTIONS,
                    "gram_size": 2,
                    "max_errors": 2,
                    "confidence": 1.0,
                    "direct_generator": [
                        {"field": "title.exact", "suggest_mode": "missing", "min_word_length": 3},
                        {"field": "body_text.exact", "suggest_mode": "missing", "min_word_length": 3},
                    ],
                    "highlight": {"pre_tag": "<em>", "post_tag": "</em>"},
                }
            },
        }
    return body


def parse_response(resp: dict[str, Any], params: SearchParams, *, text: str) -> dict[str, Any]:
    """Hits and facet counts in the shape the page and the API share ("did you mean" is checked by `search`)."""
    hits = resp["hits"]
    facets: dict[str, list[dict[str, Any]]] = {}
    for name in (*FACETS, "date"):
        buckets = resp.get("aggregations", {}).get(name, {}).get("values", {}).get("buckets", [])
        facets[name] = [
            {"value": b["key"], "count": b["doc_count"], "selected": _selected(params, name, b["key"])}
            for b in buckets
            if b["doc_count"]
        ]
    total = hits["total"]["value"]
    return {
        "q": text,
        "total": total,
        "total_is_lower_bound": hits["total"].get("relation") == "gte",
        "page": params.page,
        "size": params.size,
        "pages": max(1, min(-(-total // params.size), MAX_WINDOW // params.size)),
        "sort": params.sort,
        "filters": {**params.filters, **_date_filters(params)},
        "results": [
            {
                **h["_source"],
                "score": h.get("_score"),
                "title_html": (h.get("highlight", {}).get("title") or [None])[0],
                "snippet_html": (h.get("highlight", {}).get("body_text") or [None])[0],
            }
            for h in hits["hits"]
        ],
        "facets": facets,
        "did_you_mean": None,
    }


def _selected(params: SearchParams, name: str, key: str) -> bool:
    return params.filters.get(name) == key


def _date_filters(params: SearchParams) -> dict[str, str]:
    out = {}
    if params.date_from:
        out["date_from"] = params.date_from.isoformat()
    if params.date_to:
        out["date_to"] = params.date_to.isoformat()
    return out


def suggestion_options(resp: dict[str, Any], *, text: str) -> list[str]:
    """The phrase suggester's options other than the reader's own words, best first."""
    entries = resp.get("suggest", {}).get("did_you_mean") or [{}]
    return [o["text"] for o in entries[0].get("options", []) if o["text"].lower() != text.lower()]


def _in_published_text(word: str) -> dict[str, Any]:
    return {
        "query": {
            "bool": {
                "filter": [
                    ONLY_PUBLISHED,
                    {"multi_match": {"query": word, "fields": ["title.exact", "body_text.exact"], "operator": "and"}},
                ]
            }
        },
        "size": 0,
        "terminate_after": 1,
        "track_total_hits": True,
    }


async def published_suggestion(
    *, es: AsyncElasticsearch, names: IndexNames, text: str, options: list[str]
) -> str | None:
    """The first option whose corrected words all occur in published articles (one msearch, only if any)."""
    typed = set(text.lower().split())
    changed = {option: [w for w in option.split() if w not in typed] for option in options}
    words = list(dict.fromkeys(w for ws in changed.values() for w in ws))[:MAX_CHECKED_WORDS]
    if not words:
        return None
    searches: list[dict[str, Any]] = []
    for word in words:
        searches += [{"index": names.articles}, _in_published_text(word)]
    resp = await es.msearch(searches=searches)
    live = {w for w, r in zip(words, resp["responses"], strict=True) if r.get("hits", {}).get("total", {}).get("value")}
    return next((o for o, ws in changed.items() if ws and all(w in live for w in ws)), None)


async def search(
    *, es: AsyncElasticsearch, names: IndexNames, params: SearchParams, max_chars: int = 500
) -> dict[str, Any]:
    """Run a reader search; Elasticsearch errors propagate for the caller to render as 503."""
    body = build_request(params, max_chars=max_chars)
    text = clean_text(params.q, max_chars=max_chars)
    resp = (await es.search(index=names.articles, body=body)).body
    result = parse_response(resp, params, text=text)
    options = suggestion_options(resp, text=text)
    if options:
        result["did_you_mean"] = await published_suggestion(es=es, names=names, text=text, options=options)
    return result


async def suggest(*, es: AsyncElasticsearch, names: IndexNames, prefix: str, size: int = 8) -> list[dict[str, str]]:
    """Title completions for the search box (completion suggester on title_suggest)."""
    text = " ".join(prefix.split())[:100]
    if len(text) < 2:
        return []
    resp = await es.search(
        index=names.articles,
        suggest={
            "titles": {"prefix": text, "completion": {"field": "title_suggest", "size": size, "skip_duplicates": True}}
        },
        source_includes=["title", "path", "uid", "status", "embargo_until"],
        size=0,
    )
    out = []
    for option in resp["suggest"]["titles"][0]["options"]:
        src = option.get("_source", {})
        # The completion suggester takes no query filter: withdrawn and embargoed titles are dropped here.
        if is_visible(src):
            out.append(
                {"title": src.get("title", option["text"]), "path": src.get("path", ""), "uid": src.get("uid", "")}
            )
    return out
