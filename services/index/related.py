"""Related links ("Baca juga"): editors' picks first, then computed neighbours, stored per article."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch, NotFoundError, helpers

from shared.es import IndexNames
from shared.text import normalise_title

log = structlog.get_logger()

PUBLISHED = "published"
_FIELDS = ["uid", "title", "path", "published_at", "section", "status", "newsroom"]


def _item(hit: dict[str, Any], kind: str, score: float | None = None) -> dict[str, Any]:
    src = hit["_source"]
    item = {
        "uid": src["uid"],
        "title": src.get("title"),
        "path": src.get("path"),
        "published_at": src.get("published_at"),
        "section": src.get("section"),
        "kind": kind,
    }
    if score is not None:
        item["score"] = round(score, 4)
    return item


def resolve_editor_links(*, es: Elasticsearch, names: IndexNames, article: dict[str, Any]) -> list[dict[str, Any]]:
    """Resolve editor-chosen refs (external id, URL or title prefix) to published articles of the newsroom."""
    resolved: list[dict[str, Any]] = []
    seen = {article["uid"]}
    for ref in article.get("editor_related") or []:
        hit = _resolve_one(es=es, names=names, newsroom=article["newsroom"], ref=ref)
        if hit and hit["_source"]["uid"] not in seen:
            seen.add(hit["_source"]["uid"])
            resolved.append(_item(hit, "editor"))
    return resolved


def _resolve_one(*, es: Elasticsearch, names: IndexNames, newsroom: str, ref: dict[str, Any]) -> dict[str, Any] | None:
    base = [{"term": {"status": PUBLISHED}}]
    if ref.get("external_id"):
        query = {
            "bool": {"filter": [*base, {"term": {"newsroom": newsroom}}, {"term": {"external_id": ref["external_id"]}}]}
        }
        hits = es.search(index=names.articles, query=query, size=1, source=_FIELDS)["hits"]["hits"]
        if hits:
            return hits[0]
    if ref.get("url"):
        url = ref["url"]
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        query = {
            "bool": {
                "filter": base,
                "should": [{"term": {"canonical_url": url}}, {"term": {"path": path}}],
                "minimum_should_match": 1,
            }
        }
        hits = es.search(index=names.articles, query=query, size=1, source=_FIELDS)["hits"]["hits"]
        if hits:
            return hits[0]
    if ref.get("title"):
        # Flat bodies run the link title into the next sentence: a known title that is a prefix of the
        # link text is the match (the longest one wins).
        wanted = normalise_title(ref["title"])
        words = ref["title"].split()[:12]
        query = {
            "bool": {
                "filter": base,
                "must": [{"match": {"title.exact": {"query": " ".join(words), "minimum_should_match": "60%"}}}],
            }
        }
        hits = es.search(index=names.articles, query=query, size=10, source=_FIELDS)["hits"]["hits"]
        best = None
        for hit in hits:
            title = normalise_title(hit["_source"].get("title") or "")
            if (
                len(title) >= 15
                and wanted.startswith(title)
                and (best is None or len(title) > len(normalise_title(best["_source"]["title"])))
            ):
                best = hit
        return best
    return None


def compute_related(
    *, es: Elasticsearch, names: IndexNames, uid: str, k: int = 5, earlier_only: bool = False
) -> dict[str, Any] | None:
    """Compute and store one article's related list; returns the stored document (None if not published)."""
    try:
        article = es.get(index=names.articles, id=uid)["_source"]
    except NotFoundError:
        return None
    if article.get("status") != PUBLISHED:
        es.options(ignore_status=404).delete(index=names.related, id=uid, refresh=False)
        return None
    pinned = resolve_editor_links(es=es, names=names, article=article)
    computed = similar_articles(
        es=es, names=names, article=article, k=k, exclude={p["uid"] for p in pinned}, earlier_only=earlier_only
    )
    doc = {
        "uid": uid,
        "items": pinned + computed,
        "related_uids": [i["uid"] for i in pinned + computed],
        "computed_at": datetime.now(UTC).isoformat(),
        "source_revision": article.get("revision"),
    }
    es.index(index=names.related, id=uid, document=doc)
    log.info("related.computed", article_id=uid, pinned=len(pinned), computed=len(computed))
    return doc


def similar_articles(
    *,
    es: Elasticsearch,
    names: IndexNames,
    article: dict[str, Any],
    k: int,
    exclude: set[str] | None = None,
    earlier_only: bool = False,
) -> list[dict[str, Any]]:
    """Top-k by text similarity (more_like_this) with recency decay and tag affinity, near-duplicates dropped."""
    like_text = f"{article.get('title', '')}\n{article.get('title', '')}\n{(article.get('body_text') or '')[:6000]}"
    filters: list[dict[str, Any]] = [{"term": {"status": PUBLISHED}}]
    if earlier_only and article.get("published_at"):
        filters.append({"range": {"published_at": {"lt": article["published_at"]}}})
    should: list[dict[str, Any]] = []
    if article.get("tags"):
        should.append({"terms": {"tags": article["tags"], "boost": 0.5}})
    query = {
        "function_score": {
            "query": {
                "bool": {
                    "must": [
                        {
                            "more_like_this": {
                                "fields": ["title", "body_text"],
                                "like": like_text,
                                "min_term_freq": 1,
                                "min_doc_freq": 1,
                                "max_query_terms": 60,
                                "minimum_should_match": "5%",
                                "max_doc_freq": 5000,
                            }
                        }
                    ],
                    "should": should,
                    "filter": filters,
                    "must_not": [{"ids": {"values": [article["uid"], *(exclude or ())]}}],
                }
            },
            "functions": [
                {
                    "gauss": {
                        "published_at": {
                            "origin": article.get("published_at") or "now",
                            "scale": "30d",
                            "offset": "2d",
                            "decay": 0.5,
                        }
                    },
                    "weight": 1,
                }
            ],
            "score_mode": "multiply",
            "boost_mode": "multiply",
        }
    }
    hits = es.search(index=names.articles, query=query, size=k * 4, source=_FIELDS)["hits"]["hits"]
    own_title = normalise_title(article.get("title") or "")
    out: list[dict[str, Any]] = []
    seen_titles = {own_title}
    for hit in hits:
        title = normalise_title(hit["_source"].get("title") or "")
        if title in seen_titles or _near_duplicate(title, seen_titles):
            continue
        seen_titles.add(title)
        out.append(_item(hit, "computed", hit["_score"]))
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


def lists_containing(*, es: Elasticsearch, names: IndexNames, uid: str, size: int = 200) -> list[str]:
    """Uids of articles whose stored related list shows this uid."""
    resp = es.search(index=names.related, query={"term": {"related_uids": uid}}, size=size, source=False)
    return [h["_id"] for h in resp["hits"]["hits"]]


def forget(*, es: Elasticsearch, names: IndexNames, uid: str) -> list[str]:
    """Drop a withdrawn or deleted article's own list and cut it out of every list that shows it.

    Returns the uids whose lists were cut, so the caller can schedule a refill.
    """
    es.options(ignore_status=404).delete(index=names.related, id=uid)
    # Removals are rare and a list stored a moment ago must not be missed, so make it searchable first.
    es.indices.refresh(index=names.related)
    owners = lists_containing(es=es, names=names, uid=uid, size=1000)
    for owner in owners:
        try:
            doc = es.get(index=names.related, id=owner)
        except NotFoundError:
            continue
        src = doc["_source"]
        items = [i for i in src.get("items", []) if i.get("uid") != uid]
        src.update(items=items, related_uids=[i["uid"] for i in items])
        # Optimistic concurrency: if a recomputation stored a list meanwhile, that one already excludes it.
        es.options(ignore_status=409).index(
            index=names.related, id=owner, document=src, if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"]
        )
    log.info("related.forgotten", article_id=uid, lists=len(owners))
    return owners


def get_related(*, es: Elasticsearch, names: IndexNames, uid: str) -> list[dict[str, Any]]:
    """The stored list of one article (empty when none was computed)."""
    try:
        return es.get(index=names.related, id=uid)["_source"].get("items", [])
    except NotFoundError:
        return []


def rebuild_all(*, es: Elasticsearch, names: IndexNames, k: int = 5) -> int:
    """Recompute every published article's list (after a backfill that skipped related work)."""
    count = 0
    query = {"query": {"term": {"status": PUBLISHED}}}
    for hit in helpers.scan(es, index=names.articles, query=query, source=False, size=1000):
        if compute_related(es=es, names=names, uid=hit["_id"], k=k):
            count += 1
    log.info("related.rebuilt", lists=count)
    return count
