"""Related lists ("Baca juga"): editors' picks first, then computed neighbours, stored per article and
forgotten when a story comes down. Elasticsearch does the reading; `scoring` does the ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import Elasticsearch, NotFoundError, helpers

from services.index.related import scoring
from shared.es import ONLY_PUBLISHED, PUBLISHED, IndexNames
from shared.text import normalise_title

log = structlog.get_logger()

_FIELDS = ["uid", "title", "path", "published_at", "section", "status", "newsroom"]

# Two-stage ranking (measured in bench/related_eval.py; see the commit message for the numbers).
CANDIDATES = 30  # more_like_this candidates reranked by TF-IDF cosine
MAX_BODY_CHARS = 6000


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
    base = [ONLY_PUBLISHED]
    if ref.get("external_id"):
        query: dict[str, Any] = {
            "bool": {"filter": [*base, {"term": {"newsroom": newsroom}}, {"term": {"external_id": ref["external_id"]}}]}
        }
        hits = es.search(index=names.articles, query=query, size=1, source_includes=_FIELDS)["hits"]["hits"]
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
        hits = es.search(index=names.articles, query=query, size=1, source_includes=_FIELDS)["hits"]["hits"]
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
        hits = es.search(index=names.articles, query=query, size=10, source_includes=_FIELDS)["hits"]["hits"]
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
    # Search is near-real-time: a story withdrawn in the last second can still match. Check the
    # candidates' status with a real-time read so a refill never brings a withdrawn story back.
    pinned, computed = _still_published(es, names, pinned), _still_published(es, names, computed)
    doc = {
        "uid": uid,
        "items": pinned + computed,
        "related_uids": [i["uid"] for i in pinned + computed],
        "computed_at": datetime.now(UTC).isoformat(),
        "source_revision": article.get("revision"),
    }
    es.index(index=names.related, id=uid, document=doc)
    # A withdrawal can land while this list was being computed; the withdrawing task deletes the list
    # after its own write, so re-reading the status now closes the window from this side.
    current = es.options(ignore_status=404).get(index=names.articles, id=uid, source_includes=["status"])
    if not current.get("found") or current["_source"].get("status") != PUBLISHED:
        es.options(ignore_status=404).delete(index=names.related, id=uid)
        return None
    log.info("related.computed", article_id=uid, pinned=len(pinned), computed=len(computed))
    return doc


def _still_published(es: Elasticsearch, names: IndexNames, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not items:
        return items
    found = es.mget(index=names.articles, ids=[i["uid"] for i in items], source_includes=["status"])["docs"]
    live = {d["_id"] for d in found if d.get("found") and d["_source"].get("status") == PUBLISHED}
    return [i for i in items if i["uid"] in live]


def similar_articles(
    *,
    es: Elasticsearch,
    names: IndexNames,
    article: dict[str, Any],
    k: int,
    exclude: set[str] | None = None,
    earlier_only: bool = False,
) -> list[dict[str, Any]]:
    """Top-k related articles in two stages, near-duplicates dropped.

    1. more_like_this (title twice + body, no recency or tag boost) fetches CANDIDATES candidates.
    2. Rerank by TF-IDF cosine (sublinear tf, smooth idf, title terms weighted TITLE_WEIGHT) over the
       stemmed terms the index analyzer produces, read with mtermvectors (computed on the fly), times a
       gentle recency factor (1 + RECENCY_WEIGHT * exp(-days / RECENCY_DAYS)).

    earlier_only: as at publish time, only articles published on or before the article's own day
    (editors link earlier stories, often from the same day; many sources date to the day only).
    """
    title = article.get("title") or ""
    body = (article.get("body_text") or "")[:MAX_BODY_CHARS]
    filters: list[dict[str, Any]] = [ONLY_PUBLISHED]
    if earlier_only and article.get("published_at"):
        filters.append({"range": {"published_at": {"lt": scoring.end_of_day(article["published_at"])}}})
    query = {
        "bool": {
            "must": [
                {
                    "more_like_this": {
                        "fields": ["title", "body_text"],
                        "like": f"{title}\n{title}\n{body}",
                        "min_term_freq": 1,
                        "min_doc_freq": 1,
                        "max_query_terms": 60,
                        "minimum_should_match": "5%",
                        "max_doc_freq": 5000,
                    }
                }
            ],
            "filter": filters,
            "must_not": [{"ids": {"values": [article["uid"], *(exclude or ())]}}],
        }
    }
    hits = es.search(index=names.articles, query=query, size=CANDIDATES, source_includes=_FIELDS)["hits"]["hits"]
    if not hits:
        return []
    scored = _rerank(es=es, names=names, article=article, title=title, body=body, hits=hits)
    return [_item(hit, "computed", score) for score, hit in scoring.distinct(scored, own_title=title, k=k)]


def _rerank(
    *, es: Elasticsearch, names: IndexNames, article: dict[str, Any], title: str, body: str, hits: list[dict[str, Any]]
) -> list[tuple[float, dict[str, Any]]]:
    """(score, hit) best first: TF-IDF cosine over stemmed terms times a gentle recency factor."""
    docs: list[dict[str, Any]] = [{"_index": names.articles, "doc": {"title": title, "body_text": body}}]
    docs += [{"_index": names.articles, "_id": h["_id"]} for h in hits]
    resp = es.mtermvectors(
        docs=docs,
        fields=["title", "body_text"],
        term_statistics=True,
        field_statistics=True,
        positions=False,
        offsets=False,
        payloads=False,
    )
    vectors = [d.get("term_vectors") or {} for d in resp["docs"]]
    return scoring.rank(article.get("published_at"), vectors[0], hits, vectors[1:])


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


def rebuild_all(*, es: Elasticsearch, names: IndexNames, k: int = 5) -> int:
    """Recompute every published article's list (after a backfill that skipped related work)."""
    count = 0
    query = {"query": ONLY_PUBLISHED}
    for hit in helpers.scan(es, index=names.articles, query=query, source=False, size=1000):
        if compute_related(es=es, names=names, uid=hit["_id"], k=k):
            count += 1
    log.info("related.rebuilt", lists=count)
    return count
