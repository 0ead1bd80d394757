"""Related lists ("Baca juga"): editors' picks first, then computed neighbours, stored per article and
forgotten when a story comes down. Elasticsearch finds candidates; `features` and `ranker` rank them.

Editors' links pin first. An inline link whose target is not in Kabar yet stays pending on the source's
related document until the target arrives (`waiting_for`), then the source is settled again."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers
from redis import Redis

from services.index.related import features
from services.index.related.ranker import FALLBACK, Ranker
from services.index.taskbase import TransientIndexError
from shared.es import ONLY_PUBLISHED, IndexNames, is_visible
from shared.text import cut_inline_link, normalise_title

log = structlog.get_logger()

_FIELDS = ["uid", "title", "path", "published_at", "section", "status", "newsroom", "tags"]
# What shared.es.is_visible reads of a document (published, and past any embargo).
_VISIBILITY = ["status", "embargo_until"]

# Two-stage ranking (measured in bench/related_eval.py).
# Editors link what shares no word with the story as often as what does (a tribun story on a match links the
# desk's trending piece): candidates come from four nets, found in one msearch (bench/related_eval.py).
CANDIDATES = 100  # by wording
QUERY_TERMS = 40  # the article's heaviest stemmed terms the first stage searches for
_QUERY_FIELDS = ("body_text", "title")
SECTION_NEWEST = 20  # the section's newest stories before it (also: a story sharing no word gets a list)
NEWSROOM_NEWEST = 100  # the newsroom's newest stories before it
LINKED_LATELY = 20  # the stories the newsroom's editors linked most lately
LINKED_KEPT = 2000  # per newsroom, in Redis
PROFILE_CACHE_SECONDS = 45 * 86400
MAX_BODY_CHARS = 6000
MAX_EDITOR_LINKS = 20
# What a profile is made of: the stemmed terms of title and body with their document frequencies.
_TERM_VECTORS: dict[str, Any] = {
    "fields": ["title", "body_text"],
    "term_statistics": True,
    "field_statistics": True,
    "positions": False,
    "offsets": False,
    "payloads": False,
}
_PROFILE_FIELDS = ["vector_terms", "vector_weights", "names", "editor_uids"]
# Shorter titles ("Foto", "Video Terkini") prefix too many link texts to identify one story.
MIN_TITLE_CHARS = 15


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


@dataclass
class Settled:
    """An article after its editors' links were resolved: its pinned items, its profile and what is pending."""

    article: dict[str, Any]
    pinned: list[dict[str, Any]]
    profile: features.Profile
    pending_links: list[str] = field(default_factory=list)
    pending_urls: list[str] = field(default_factory=list)


def resolve_editor_links(
    *, es: Elasticsearch, names: IndexNames, article: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    """Resolve editor-chosen refs (external id, URL or title prefix) to published articles of the newsroom.

    Returns the pinned items (distinct, in the editors' order) and every ref with its hit or None.
    """
    resolved: list[dict[str, Any]] = []
    outcomes: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    seen = {article["uid"]}
    for ref in (article.get("editor_related") or [])[:MAX_EDITOR_LINKS]:
        hit = _resolve_one(es=es, names=names, newsroom=article["newsroom"], ref=ref)
        if hit and hit["_source"]["uid"] == article["uid"]:
            hit = None
        outcomes.append((ref, hit))
        if hit and hit["_source"]["uid"] not in seen:
            seen.add(hit["_source"]["uid"])
            resolved.append(_item(hit, "editor"))
    return resolved, outcomes


def _url_path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url


def _resolve_one(*, es: Elasticsearch, names: IndexNames, newsroom: str, ref: dict[str, Any]) -> dict[str, Any] | None:
    base = [ONLY_PUBLISHED, {"term": {"newsroom": newsroom}}]
    if ref.get("external_id"):
        query: dict[str, Any] = {"bool": {"filter": [*base, {"term": {"external_id": ref["external_id"]}}]}}
        hits = es.search(index=names.articles, query=query, size=1, source_includes=_FIELDS)["hits"]["hits"]
        if hits:
            return hits[0]
    if ref.get("url"):
        url = ref["url"]
        query = {
            "bool": {
                "filter": base,
                "should": [{"term": {"canonical_url": url}}, {"term": {"path": _url_path(url)}}],
                "minimum_should_match": 1,
            }
        }
        hits = es.search(index=names.articles, query=query, size=1, source_includes=_FIELDS)["hits"]["hits"]
        if hits:
            return hits[0]
    if ref.get("title"):
        # Flat bodies run the link title into the next sentence: a known title that is a prefix of the
        # link text is the match (the longest one wins), diacritics, case and punctuation folded.
        wanted = normalise_title(ref["title"])
        words = wanted.split()[:12]
        query = {
            "bool": {
                "filter": base,
                "must": [{"match": {"title.exact": {"query": " ".join(words), "minimum_should_match": "60%"}}}],
            }
        }
        hits = es.search(index=names.articles, query=query, size=20, source_includes=_FIELDS)["hits"]["hits"]
        best, best_len = None, 0
        for hit in hits:
            title = normalise_title(hit["_source"].get("title") or "")
            if len(title) >= MIN_TITLE_CHARS and _prefixes(title, wanted) and len(title) > best_len:
                best, best_len = hit, len(title)
        return best
    return None


def _prefixes(title: str, text: str) -> bool:
    """The title starts the text. Not necessarily at a word boundary: scrapers glue the next line on
    ("…UU PesantrenPewarta: …"); cut_inline_link still refuses a title that ends inside a real word."""
    return text.startswith(title)


def settle(*, es: Elasticsearch, names: IndexNames, article: dict[str, Any], revision: int | None) -> Settled | None:
    """Resolve the article's editors' links, cut resolved inline titles out of its indexed text, and work
    out its ranking profile (stored by the caller beside its list). None: a newer revision is in the index."""
    pinned, outcomes = resolve_editor_links(es=es, names=names, article=article)
    cuts = [
        (ref["offset"], hit["_source"]["title"])
        for ref, hit in outcomes
        if hit is not None and ref.get("offset") is not None and hit["_source"].get("title")
    ]
    if cuts:
        cut = _cut_links(es=es, names=names, article=article, cuts=cuts, revision=revision)
        if cut is None:
            return None
        article = cut
    pending_links, pending_urls = [], []
    for ref, hit in outcomes:
        if hit is None and ref.get("url"):
            pending_urls += [ref["url"], _url_path(ref["url"])]
        elif hit is None and ref.get("title"):
            key = normalise_title(ref["title"])[:300]
            if len(key) >= MIN_TITLE_CHARS:
                pending_links.append(key)
    title = article.get("title") or ""
    body = (article.get("body_text") or "")[:MAX_BODY_CHARS]
    tv = (
        es.termvectors(index=names.articles, doc={"title": title, "body_text": body}, **_TERM_VECTORS).get(
            "term_vectors"
        )
        or {}
    )
    profile = features.Profile(
        uid=article["uid"],
        vector=features.tfidf_vector(tv),
        names=features.extract_names(title, body),
        editor_uids=[p["uid"] for p in pinned],
        fields={name: article.get(name) for name in _FIELDS},
    )
    return Settled(article, pinned, profile, sorted(set(pending_links)), sorted(set(pending_urls)))


def _cut_links(
    *, es: Elasticsearch, names: IndexNames, article: dict[str, Any], cuts: list[tuple[int, str]], revision: int | None
) -> dict[str, Any] | None:
    """Cut resolved inline link titles from the indexed text, at the article's own revision.

    external_gte at the same revision: a newer revision written meanwhile wins (409), and that revision's
    own related task settles its links. Links after a cut shift by what the cut removed; a cut link keeps
    the resolved title and loses its offset, so settling again changes nothing.
    """
    text = article.get("body_text") or ""
    refs = [dict(r) for r in article.get("editor_related") or []]
    by_offset = {t[0]: t[1] for t in cuts}
    for offset in sorted(by_offset, reverse=True):
        new = cut_inline_link(text, offset, by_offset[offset])
        if new is None:
            continue
        delta = len(text) - len(new)
        text = new
        for ref in refs:
            at = ref.get("offset")
            if at == offset:
                ref.pop("offset")
                ref["title"] = by_offset[offset]
            elif at is not None and at > offset:
                ref["offset"] = at - delta
    if text == article.get("body_text"):
        return article
    updated = {**article, "body_text": text, "editor_related": refs}
    try:
        es.index(
            index=names.articles,
            id=article["uid"],
            document=updated,
            version=revision if revision is not None else article.get("revision"),
            version_type="external_gte",
        )
    except ConflictError:
        return None
    return updated


def computation_version(redis: Redis | None) -> int:
    """The external version of a list whose computation starts now: the time in microseconds, from Redis's
    clock (one clock for every worker on every host; this process's own without Redis)."""
    if redis is None:
        return time.time_ns() // 1000
    seconds, micros = redis.time()
    return int(seconds) * 1_000_000 + int(micros)


def compute_related(
    *,
    es: Elasticsearch,
    names: IndexNames,
    uid: str,
    k: int = 5,
    earlier_only: bool = False,
    ranker: Ranker | None = None,
    redis: Redis | None = None,
) -> dict[str, Any] | None:
    """Compute and store one article's list; returns the list computed (None if not published).

    Two computations of one list can overlap: a refresh asked for while one runs starts on another related
    worker after its debounce, however long the first takes. The later one read the index after whatever
    asked for it, so its list must stand: each list is stored with external version = when its computation
    started (taken before anything is read), and an earlier computation finishing last is refused (409)."""
    version = computation_version(redis)
    settled = _settle_current(es=es, names=names, uid=uid)
    if settled is None:
        return None
    article = settled.article
    computed = similar_articles(
        es=es,
        names=names,
        article=settled.article,
        profile=settled.profile,
        k=k,
        exclude={p["uid"] for p in settled.pinned},
        earlier_only=earlier_only,
        ranker=ranker,
        redis=redis,
    )
    # Search is near-real-time: a story withdrawn in the last second can still match. Check the
    # candidates' status with a real-time read so a refill never brings a withdrawn story back.
    pinned, computed = _still_published(es, names, settled.pinned), _still_published(es, names, computed)
    doc = {
        "uid": uid,
        "newsroom": article.get("newsroom"),
        "items": pinned + computed,
        "related_uids": [i["uid"] for i in pinned + computed],
        "computed_at": datetime.now(UTC).isoformat(),
        "source_revision": article.get("revision"),
        **profile_fields(settled),
    }
    try:
        es.index(index=names.related, id=uid, document=doc, version=version, version_type="external")
    except ConflictError:
        # A computation that started later has stored its list: that one stands. This list is still returned,
        # so the caller's follow-ups (the neighbours' refreshes, a purge) happen; each is idempotent.
        log.info("related.superseded", article_id=uid)
        return doc
    keep_for_lists(redis, names, settled)
    # A withdrawal can land while this list was being computed; the withdrawing task deletes the list
    # after its own write, so re-reading the status now closes the window from this side.
    current = es.options(ignore_status=404).get(index=names.articles, id=uid, source_includes=_VISIBILITY)
    if not current.get("found") or not is_visible(current["_source"]):
        es.options(ignore_status=404).delete(index=names.related, id=uid)
        return None
    log.info(
        "related.computed",
        article_id=uid,
        pinned=len(pinned),
        computed=len(computed),
        pending=len(settled.pending_links) + len(settled.pending_urls),
    )
    return doc


def _settle_current(*, es: Elasticsearch, names: IndexNames, uid: str) -> Settled | None:
    """The article as it is now, settled; None (and no list kept) when it is gone or not published."""
    got = es.options(ignore_status=404).get(index=names.articles, id=uid)
    if not got.get("found"):
        return None
    if not is_visible(got["_source"]):
        # Withdrawn, or under embargo: no list before its release (the release task computes it then).
        es.options(ignore_status=404).delete(index=names.related, id=uid, refresh=False)
        return None
    return settle(es=es, names=names, article=got["_source"], revision=got.get("_version"))


def profile_fields(settled: Settled) -> dict[str, Any]:
    """The related document's profile fields (see shared.es.RELATED_PROFILE_PROPERTIES)."""
    return {
        "editor_uids": settled.profile.editor_uids,
        "pending_links": settled.pending_links,
        "pending_urls": settled.pending_urls,
        **dict(zip(("vector_terms", "vector_weights"), features.pack_vector(settled.profile.vector), strict=True)),
        "names": settled.profile.names,
        "profile_revision": settled.article.get("revision"),
    }


def keep_for_lists(redis: Redis | None, names: IndexNames, settled: Settled) -> None:
    """What other articles' lists read of a settled article, in Redis: its profile, and the links its editors
    made (the linked-lately net)."""
    cache_profile(redis, names, settled.profile)
    record_links(redis, names, settled.article, settled.profile.editor_uids)


def store_profile(*, es: Elasticsearch, names: IndexNames, uid: str, redis: Redis | None = None) -> Settled | None:
    """Settle one article and store its profile without computing its list (the first pass of a rebuild)."""
    settled = _settle_current(es=es, names=names, uid=uid)
    if settled:
        fields = {"uid": uid, "newsroom": settled.article.get("newsroom"), **profile_fields(settled)}
        es.update(index=names.related, id=uid, doc=fields, doc_as_upsert=True)
        keep_for_lists(redis, names, settled)
    return settled


def waiting_for(*, es: Elasticsearch, names: IndexNames, article: dict[str, Any], size: int = 200) -> list[str]:
    """Uids of the newsroom's articles whose editors linked this article before it arrived (pending)."""
    should: list[dict[str, Any]] = []
    title = normalise_title(article.get("title") or "")
    if len(title) >= MIN_TITLE_CHARS:
        # The pending text runs on into the next sentence: the new title must be a prefix of it.
        should.append({"prefix": {"pending_links": title}})
    for url in filter(None, (article.get("canonical_url"), article.get("path"))):
        should.append({"term": {"pending_urls": url}})
    if not should:
        return []
    query = {
        "bool": {
            "filter": [{"term": {"newsroom": article.get("newsroom")}}],
            "should": should,
            "minimum_should_match": 1,
            "must_not": [{"ids": {"values": [article["uid"]]}}],
        }
    }
    # A title ending mid-word of the link text matches too; settling the source again then finds nothing new.
    resp = es.search(index=names.related, query=query, size=size, source=False)
    return [hit["_id"] for hit in resp["hits"]["hits"]]


def _still_published(es: Elasticsearch, names: IndexNames, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not items:
        return items
    found = es.mget(index=names.articles, ids=[i["uid"] for i in items], source_includes=_VISIBILITY)["docs"]
    live = {d["_id"] for d in found if d.get("found") and is_visible(d["_source"])}
    return [i for i in items if i["uid"] in live]


def candidates(
    *,
    es: Elasticsearch,
    names: IndexNames,
    article: dict[str, Any],
    profile: features.Profile,
    redis: Redis | None = None,
    exclude: set[str] | None = None,
    earlier_only: bool = False,
    size: int = CANDIDATES,
) -> list[features.Candidate]:
    """First stage, within the newsroom, published only, each candidate with its stored profile:
    - by wording: the article's heaviest stemmed terms (its profile) as weighted term clauses over body and
      title. The terms are already stemmed, so nothing is analysed at query time (more_like_this re-analysed
      the whole text with hunspell on every list), and on editors' links this holds more of them;
    - the section's newest stories and the newsroom's newest before it, and
    - the stories its editors linked most lately (`record_links`).
    On editors' links (bench.related_eval, 1,559 links) wording alone held 0.895 of them; most of the rest
    share no word with the article and were published within hours of it, often in another section.
    earlier_only: as at publish time, only articles published before it (features.publish_time_cutoff).
    """
    filters: list[dict[str, Any]] = [ONLY_PUBLISHED]
    if article.get("newsroom"):
        filters.append({"term": {"newsroom": article["newsroom"]}})
    cutoff = features.publish_time_cutoff(article["published_at"]) if article.get("published_at") else None
    if earlier_only and cutoff:
        filters.append({"range": {"published_at": {"lt": cutoff}}})
    must_not = [{"ids": {"values": [article["uid"], *(exclude or ())]}}]
    newest = [{"published_at": "desc"}]
    searches: list[tuple[str, dict[str, Any]]] = []
    top = profile.top_terms(QUERY_TERMS)
    if top:
        should = [
            {"term": {field: {"value": term, "boost": round(w, 4)}}} for term, w in top for field in _QUERY_FIELDS
        ]
        query = {"bool": {"should": should, "minimum_should_match": 1, "filter": filters, "must_not": must_not}}
        searches.append(("wording", {"query": query, "size": size}))
    if article.get("section"):
        in_section = {"bool": {"filter": [*filters, {"term": {"section": article["section"]}}], "must_not": must_not}}
        searches.append(("section", {"query": in_section, "size": SECTION_NEWEST, "sort": newest}))
    if article.get("newsroom"):
        in_room = {"bool": {"filter": filters, "must_not": must_not}}
        searches.append(("newsroom", {"query": in_room, "size": NEWSROOM_NEWEST, "sort": newest}))
    # Not the article's own links: served, they are pinned anyway; as at publish time, an article dated to the
    # day only has its own links before its cutoff (the end of its day), and they are what is being predicted.
    own_links = set(profile.editor_uids)
    linked = [
        uid
        for uid in linked_lately(
            redis, names, article.get("newsroom"), before=cutoff if earlier_only else None, extra=len(own_links)
        )
        if uid not in own_links
    ][:LINKED_LATELY]
    if linked:
        by_id = {"bool": {"filter": [*filters, {"ids": {"values": linked}}], "must_not": must_not}}
        searches.append(("linked", {"query": by_id, "size": len(linked)}))
    if not searches:
        return []
    body: list[dict[str, Any]] = []
    for _, search in searches:
        # Ids and scores only: the fields come with the profiles (Profile.fields).
        body += [{"index": names.articles}, {**search, "_source": False, "track_total_hits": False}]
    scores: dict[str, float] = {}
    for (net, _), response in zip(searches, es.msearch(searches=body)["responses"], strict=True):
        if "error" in response:
            # A net that failed (shards away) would leave a worse list stored as if whole: retried instead.
            raise TransientIndexError(f"related candidates by {net}: {str(response['error'])[:300]}")
        for hit in response["hits"]["hits"]:
            scores.setdefault(hit["_id"], hit.get("_score") or 0.0)
    if not scores:
        return []
    linked_rank = {uid: rank for rank, uid in enumerate(linked)}
    profiles = load_profiles(es=es, names=names, redis=redis, uids=list(scores))
    shown = _fields_of(es=es, names=names, profiles=profiles, uids=list(scores))
    return [
        features.Candidate(shown[uid], score, profiles.get(uid), linked_rank.get(uid))
        for uid, score in scores.items()
        if uid in shown
    ]


def _fields_of(
    *, es: Elasticsearch, names: IndexNames, profiles: dict[str, features.Profile], uids: list[str]
) -> dict[str, dict[str, Any]]:
    """Each candidate's fields: from its profile, else read from the article (a profile from before fields
    were kept, one read from the related document, or none yet). Not written back to the cache: the
    article's own related task may be caching a newer revision's profile at the same moment."""
    shown = {uid: p.fields for uid, p in profiles.items() if p.fields}
    missing = [uid for uid in uids if uid not in shown]
    if missing:
        for doc in es.mget(index=names.articles, ids=missing, source_includes=_FIELDS)["docs"]:
            if doc.get("found"):
                shown[doc["_id"]] = doc["_source"]
    return shown


def _linked_key(names: IndexNames, newsroom: str) -> str:
    return f"{names.prefix}:related:linked:{newsroom}"


def record_links(redis: Redis | None, names: IndexNames, article: dict[str, Any], targets: list[str]) -> None:
    """Remember the stories an article's editors linked, by the article's publication time (the newest kept):
    what a desk links lately, it links again (the "Baca juga" to the trending story)."""
    when = features.parse_time(article.get("published_at"))
    if redis is None or not targets or when is None or not article.get("newsroom"):
        return
    key = _linked_key(names, article["newsroom"])
    with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(key, dict.fromkeys(targets, when.timestamp()), gt=True)
        pipe.zremrangebyrank(key, 0, -LINKED_KEPT - 1)
        pipe.execute()


def linked_lately(
    redis: Redis | None, names: IndexNames, newsroom: str | None, *, before: str | None, extra: int = 0
) -> list[str]:
    """The LINKED_LATELY (+ extra) stories the newsroom's editors linked most lately, by articles published
    before `before`."""
    if redis is None or not newsroom:
        return []
    when = features.parse_time(before)
    upper = f"({when.timestamp()}" if when else "+inf"  # linked by articles published strictly before it
    found: list[bytes | str] = redis.zrevrangebyscore(  # type: ignore[assignment]
        _linked_key(names, newsroom), upper, "-inf", start=0, num=LINKED_LATELY + extra
    )
    return [u.decode() if isinstance(u, bytes) else u for u in found]


def _profile_key(names: IndexNames, uid: str) -> str:
    return f"{names.prefix}:related:profile:{uid}"


def cache_profile(redis: Redis | None, names: IndexNames, profile: features.Profile) -> None:
    """Keep a profile hot in Redis: one MGET reads 50 of them in about a millisecond, where Elasticsearch's
    stored fields cost ~10 ms. Recent stories are what lists link, so older ones may expire and are read
    from their related document."""
    if redis is not None:
        redis.set(_profile_key(names, profile.uid), profile.pack(), ex=PROFILE_CACHE_SECONDS)


# Unpacked profiles by uid, with the packed form they came from: the same recent stories are candidates
# of many lists, and unpacking 60 of them was a third of a list's time. Bounded (least recently used go;
# ~15 KB each, so ~60 MB a worker process); a changed profile (new revision) has a different packed form
# and is unpacked again.
_UNPACKED: OrderedDict[str, tuple[str, features.Profile]] = OrderedDict()
_UNPACKED_MAX = 4_000


def _unpacked(uid: str, packed: str) -> features.Profile:
    hit = _UNPACKED.get(uid)
    if hit is not None and hit[0] == packed:
        _UNPACKED.move_to_end(uid)
        return hit[1]
    profile = features.Profile.unpack(uid, packed)
    _UNPACKED[uid] = (packed, profile)
    if len(_UNPACKED) > _UNPACKED_MAX:
        _UNPACKED.popitem(last=False)
    return profile


def load_profiles(
    *, es: Elasticsearch, names: IndexNames, redis: Redis | None, uids: list[str]
) -> dict[str, features.Profile]:
    """Stored profiles: the Redis cache first, then the related documents, then worked out on the fly."""
    profiles: dict[str, features.Profile] = {}
    if redis is not None:
        for uid, packed in zip(uids, redis.mget([_profile_key(names, u) for u in uids]), strict=True):
            if packed:
                profiles[uid] = _unpacked(uid, packed.decode() if isinstance(packed, bytes) else packed)
    missing = [u for u in uids if u not in profiles]
    if missing:
        stored = es.mget(index=names.related, ids=missing, stored_fields=_PROFILE_FIELDS)["docs"]
        for d in stored:
            got = d.get("fields") or {}
            if got.get("vector_terms"):
                profile = features.Profile(
                    uid=d["_id"],
                    vector=features.unpack_vector(got["vector_terms"][0], got["vector_weights"][0]),
                    names=got.get("names") or [],
                    editor_uids=got.get("editor_uids") or [],
                )
                profiles[d["_id"]] = profile
                cache_profile(redis, names, profile)
    missing = [u for u in uids if u not in profiles]
    if missing:
        profiles.update(_profiles_on_the_fly(es, names, missing))
    return profiles


def _profiles_on_the_fly(es: Elasticsearch, names: IndexNames, uids: list[str]) -> dict[str, features.Profile]:
    """Profiles of candidates whose own related task has not run yet (new or backfilled articles)."""
    resp = es.mtermvectors(index=names.articles, ids=uids, **_TERM_VECTORS)
    return {
        d["_id"]: features.Profile(uid=d["_id"], vector=features.tfidf_vector(d.get("term_vectors") or {}))
        for d in resp["docs"]
        if d.get("found")
    }


def similar_articles(
    *,
    es: Elasticsearch,
    names: IndexNames,
    article: dict[str, Any],
    profile: features.Profile,
    k: int,
    exclude: set[str] | None = None,
    earlier_only: bool = False,
    ranker: Ranker | None = None,
    redis: Redis | None = None,
) -> list[dict[str, Any]]:
    """Top-k related articles: first-stage candidates reranked (the learned model, or TF-IDF cosine
    with a gentle recency factor without one), near-duplicates dropped."""
    found = candidates(
        es=es, names=names, article=article, profile=profile, redis=redis, exclude=exclude, earlier_only=earlier_only
    )
    if not found:
        return []
    scores = (ranker or FALLBACK).score(features.feature_rows(article, profile, found))
    scored = sorted(zip(scores, found, strict=True), key=lambda sc: -sc[0])
    kept = features.distinct(scored, own_title=article.get("title") or "", k=k)
    return [_item({"_source": c.source}, "computed", score) for score, c in kept]


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


def rebuild_all(
    *, es: Elasticsearch, names: IndexNames, k: int = 5, ranker: Ranker | None = None, redis: Redis | None = None
) -> int:
    """Recompute every published article's list (after a backfill that skipped related work).

    Two passes: every article is settled first (links resolved, titles cut, profiles stored), so the
    lists of the second pass rank against settled text and stored profiles whatever the order.
    """
    query = {"query": ONLY_PUBLISHED}
    uids = [hit["_id"] for hit in helpers.scan(es, index=names.articles, query=query, source=False, size=1000)]
    for uid in uids:
        store_profile(es=es, names=names, uid=uid, redis=redis)
    es.indices.refresh(index=f"{names.articles},{names.related}")
    count = sum(1 for uid in uids if compute_related(es=es, names=names, uid=uid, k=k, ranker=ranker, redis=redis))
    log.info("related.rebuilt", lists=count)
    return count
