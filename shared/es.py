"""Elasticsearch: client factory, index/alias names and the articles index template as code.

This Elasticsearch distribution has only core analysis (no stemmer, html_strip, asciifolding, ngrams),
so Indonesian stemming is the core `hunspell` filter with Debian's id_ID dictionary and HTML is
stripped in Python before indexing.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, NotFoundError, helpers

from shared.models import ArticleStatus
from shared.settings import KabarSettings

TEMPLATE_VERSION = 2
# What readers may see: the one status value every "published only" filter matches.
PUBLISHED = ArticleStatus.PUBLISHED.value
# The clause every reader-facing or related-link query filters on (publish, related lists, suggestions):
# published, and past its embargo. The time is Elasticsearch's own `now` at each query, so an embargoed
# story can never show early and shows on time whether or not any worker is running at that moment.
ONLY_PUBLISHED: dict[str, Any] = {
    "bool": {
        "filter": [{"term": {"status": PUBLISHED}}],
        "must_not": [{"range": {"embargo_until": {"gt": "now"}}}],
    }
}


def is_visible(source: dict[str, Any] | None, now: datetime | None = None) -> bool:
    """What ONLY_PUBLISHED says of one document read by id (a GET or mget): may readers see it now?"""
    if not source or source.get("status", PUBLISHED) != PUBLISHED:
        return False
    embargo = source.get("embargo_until")
    return not embargo or datetime.fromisoformat(embargo) <= (now or datetime.now(UTC))


RELATED_TEMPLATE_VERSION = 2

# Common Indonesian function words: frequent enough to add noise to scoring and to related-link similarity.
INDONESIAN_STOPWORDS = [
    "ada",
    "adalah",
    "agar",
    "akan",
    "aku",
    "anda",
    "antara",
    "apa",
    "atas",
    "atau",
    "bagi",
    "bahwa",
    "banyak",
    "belum",
    "beberapa",
    "begitu",
    "bila",
    "bisa",
    "dalam",
    "dan",
    "dapat",
    "dari",
    "demikian",
    "dengan",
    "di",
    "dia",
    "ia",
    "ini",
    "itu",
    "jadi",
    "jika",
    "juga",
    "kalau",
    "kami",
    "kamu",
    "karena",
    "ke",
    "kami",
    "kata",
    "kembali",
    "kepada",
    "ketika",
    "kita",
    "lagi",
    "lain",
    "lalu",
    "lebih",
    "maka",
    "masih",
    "mereka",
    "namun",
    "oleh",
    "pada",
    "para",
    "pula",
    "saat",
    "saja",
    "sampai",
    "sangat",
    "secara",
    "sebagai",
    "sebuah",
    "sedang",
    "sehingga",
    "sejak",
    "seperti",
    "serta",
    "setelah",
    "sudah",
    "tak",
    "tapi",
    "telah",
    "tentang",
    "tersebut",
    "tetapi",
    "tidak",
    "untuk",
    "yaitu",
    "yakni",
    "yang",
]

ANALYSIS: dict[str, Any] = {
    "filter": {
        "id_stop": {"type": "stop", "stopwords": INDONESIAN_STOPWORDS},
        # longest_only: one stem a word (mereka stays mereka, not also reka), and ~3x faster indexing.
        "id_hunspell": {"type": "hunspell", "locale": "id_ID", "dedup": True, "longest_only": True},
        "id_shingle": {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 2},
    },
    "analyzer": {
        "id_text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "id_stop", "id_hunspell"]},
        "id_exact": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
        "id_shingle": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "id_shingle"]},
    },
    "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
}

_TEXT = {
    "type": "text",
    "analyzer": "id_text",
    # Offsets in the postings are enough for the unified highlighter and far cheaper than term vectors.
    "index_options": "offsets",
    "fields": {"exact": {"type": "text", "analyzer": "id_exact"}},
}

ARTICLE_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"template_version": TEMPLATE_VERSION},
    "properties": {
        "uid": {"type": "keyword"},
        "newsroom": {"type": "keyword"},
        "external_id": {"type": "keyword"},
        "status": {"type": "keyword"},
        "revision": {"type": "long"},
        "version": {"type": "long"},
        "title": {
            **_TEXT,
            "fields": {
                "exact": {"type": "text", "analyzer": "id_exact"},
                "shingle": {"type": "text", "analyzer": "id_shingle"},
                "raw": {"type": "keyword", "normalizer": "lower", "ignore_above": 512},
            },
        },
        "title_suggest": {"type": "completion", "analyzer": "simple", "preserve_separators": True},
        "dek": _TEXT,
        "body_text": _TEXT,
        "body_html": {"type": "text", "index": False},
        "section": {"type": "keyword"},
        "section_slug": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "authors": {"type": "keyword"},
        "byline": {"type": "keyword"},
        "dateline": {"type": "keyword", "index": False},
        "language": {"type": "keyword"},
        "source": {"type": "keyword"},
        "slug": {"type": "keyword"},
        "path": {"type": "keyword"},
        "old_paths": {"type": "keyword"},
        "canonical_url": {"type": "keyword"},
        "published_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "embargo_until": {"type": "date"},
        "corrections": {"type": "object", "enabled": False},
        "accepted_at": {"type": "date"},
        "indexed_at": {"type": "date"},
        "images": {"type": "object", "enabled": False},
        "editor_related": {"type": "object", "enabled": False},
        "pinned_related": {"type": "object", "enabled": False},
    },
}

# Article fields added after template version 2; ensure_indices puts them on older indices.
ARTICLE_ADDED_PROPERTIES: dict[str, Any] = {
    name: ARTICLE_MAPPINGS["properties"][name] for name in ("embargo_until", "corrections")
}

# What ranking needs of an article, worked out once per revision by the related worker and kept beside
# its list (the list's document is the related worker's own; the article's is versioned by revision).
# Added fields only: ensure_indices puts them on indices made by an older template too.
RELATED_PROFILE_PROPERTIES: dict[str, Any] = {
    "newsroom": {"type": "keyword"},
    # Resolved editors' links (the co-link signal: the stories editors put side by side).
    "editor_uids": {"type": "keyword", "store": True},
    # Editors' links whose target is not in Kabar yet: the link text, normalised (a new article whose
    # normalised title prefixes it is the target), and hrefs (a new article at that URL is).
    "pending_links": {"type": "keyword", "ignore_above": 320},
    "pending_urls": {"type": "keyword", "ignore_above": 2048},
    # Stemmed term weights (TF-IDF, unit length: terms and base64 float16 weights) and capitalised names,
    # for the reranker. Stored fields: reading 50 of them skips parsing each list's whole _source.
    "vector_terms": {"type": "keyword", "index": False, "doc_values": False, "store": True},
    "vector_weights": {"type": "keyword", "index": False, "doc_values": False, "store": True},
    "names": {"type": "keyword", "index": False, "doc_values": False, "store": True},
    "profile_revision": {"type": "long"},
}

RELATED_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "uid": {"type": "keyword"},
        # Uids listed, so that withdrawing an article can find every list that shows it.
        "related_uids": {"type": "keyword"},
        "items": {"type": "object", "enabled": False},
        "computed_at": {"type": "date"},
        "source_revision": {"type": "long"},
        **RELATED_PROFILE_PROPERTIES,
    },
}


@dataclass(frozen=True)
class IndexNames:
    """Index, alias and template names for one deployment prefix."""

    prefix: str

    @property
    def articles(self) -> str:
        """The alias every read and write goes through."""
        return f"{self.prefix}-articles"

    @property
    def articles_pattern(self) -> str:
        return f"{self.prefix}-articles-*"

    @property
    def articles_template(self) -> str:
        return f"{self.prefix}-articles-template"

    @property
    def related(self) -> str:
        """The alias related lists are read and written through (rebuildable like the articles index)."""
        return f"{self.prefix}-related"

    @property
    def related_pattern(self) -> str:
        return f"{self.prefix}-related-*"

    @property
    def related_template(self) -> str:
        return f"{self.prefix}-related-template"

    @property
    def comment_counts(self) -> str:
        """One document per article with shown comments: how many, and when the newest came (lists, "most
        discussed"). Kept apart from the article, whose external versions belong to the newsroom's revisions."""
        return f"{self.prefix}-comment-counts"

    def new_related_index(self) -> str:
        return f"{self.prefix}-related-v{RELATED_TEMPLATE_VERSION}-{time.time_ns()}"

    def new_articles_index(self) -> str:
        """A fresh concrete index name behind the alias (time-ordered, unique per call)."""
        return f"{self.prefix}-articles-v{TEMPLATE_VERSION}-{time.time_ns()}"


def es_hosts(value: str) -> list[str]:
    """`http://a:9200,http://b:9200` → one URL per node."""
    hosts = [url.strip() for url in value.split(",") if url.strip()]
    if not hosts:
        raise ValueError("KABAR_ES_URL names no Elasticsearch node")
    return hosts


def _client_options(settings: KabarSettings) -> dict[str, Any]:
    """Address, credentials, timeouts and retries: the same for every client, sync or async."""
    auth = None
    if settings.es_username and settings.es_password:
        auth = (settings.es_username, settings.es_password.get_secret_value())
    return {
        # Every node of a cluster: requests are spread over them, and one that fails on a dead node is
        # retried on another (max_retries) while the dead one sits out.
        "hosts": es_hosts(settings.es_url),
        "basic_auth": auth,
        "request_timeout": settings.es_request_timeout,
        "retry_on_timeout": True,
        "max_retries": 2,
    }


def create_client(settings: KabarSettings, **kwargs: Any) -> Elasticsearch:
    """An Elasticsearch client configured from settings; callers own and close it."""
    return Elasticsearch(**_client_options(settings), **kwargs)


def create_async_client(settings: KabarSettings, **kwargs: Any) -> AsyncElasticsearch:
    """The asyncio twin of create_client (publish), with the same settings; callers own and close it."""
    return AsyncElasticsearch(**_client_options(settings), **kwargs)


# Rebuildable from PostgreSQL at any time (the workers write absolute counts, versioned by when they were read).
COMMENT_COUNT_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "newsroom": {"type": "keyword"},
        "count": {"type": "integer"},
        "last_comment_at": {"type": "date"},
    },
}


def shard_count(*, documents: int, bytes_per_document: int, target_shard_bytes: int) -> int:
    """The sizing rule: as many primary shards as it takes to keep each near the target size.

    Primary shards are fixed when an index is made (changing them means a reindex), so the count comes
    from what the index will hold in its life, not from today. Elasticsearch's guidance is 10-50 GB a
    shard: big enough that per-shard overhead (heap, file handles, one search thread per shard) stays
    small, small enough that a lost node's shards recover onto the others in minutes.
    """
    return max(1, math.ceil(documents * bytes_per_document / target_shard_bytes))


@dataclass(frozen=True)
class IndexLayout:
    """Primary shards per index and replicas of each: one node by default; from settings on a cluster."""

    article_shards: int = 1
    related_shards: int = 1
    replicas: int = 0

    @classmethod
    def from_settings(cls, settings: KabarSettings) -> IndexLayout:
        def shards(bytes_per_document: int) -> int:
            return shard_count(
                documents=settings.es_expected_articles,
                bytes_per_document=bytes_per_document,
                target_shard_bytes=settings.es_target_shard_bytes,
            )

        return cls(
            article_shards=shards(settings.es_bytes_per_article),
            related_shards=shards(settings.es_bytes_per_related_list),
            replicas=settings.es_replicas,
        )


def article_template_body(names: IndexNames, layout: IndexLayout | None = None) -> dict[str, Any]:
    layout = layout or IndexLayout()
    return {
        "index_patterns": [names.articles_pattern],
        "priority": 100,
        "version": TEMPLATE_VERSION,
        "template": {
            "settings": {
                "number_of_shards": layout.article_shards,
                "number_of_replicas": layout.replicas,
                "refresh_interval": "1s",
                "analysis": ANALYSIS,
            },
            "mappings": ARTICLE_MAPPINGS,
        },
    }


def related_template_body(names: IndexNames, layout: IndexLayout | None = None) -> dict[str, Any]:
    layout = layout or IndexLayout()
    return {
        "index_patterns": [names.related_pattern],
        "priority": 100,
        "version": RELATED_TEMPLATE_VERSION,
        "template": {
            "settings": {"number_of_shards": layout.related_shards, "number_of_replicas": layout.replicas},
            "mappings": RELATED_MAPPINGS,
        },
    }


def _related_behind_alias(es: Elasticsearch, names: IndexNames) -> None:
    """The first related index behind its alias; a related index of the old layout (a concrete index
    under the alias's name) is copied into it and replaced by the alias in one atomic alias change."""
    index = names.new_related_index()
    es.indices.create(index=index)
    old = es.indices.exists(index=names.related)
    actions: list[dict[str, Any]] = [{"add": {"index": index, "alias": names.related, "is_write_index": True}}]
    if old:
        es.indices.refresh(index=names.related)
        # Lists written to the old index during the copy are recomputed on their next refresh anyway.
        docs = helpers.scan(es, index=names.related, query={"query": {"match_all": {}}}, size=500)
        helpers.bulk(es, ({"_index": index, "_id": d["_id"], "_source": d["_source"]} for d in docs))
        actions.insert(0, {"remove_index": {"index": names.related}})
    try:
        es.indices.update_aliases(actions=actions)
    except ApiError:
        # Another process put the alias first (or removed the old index): keep theirs, drop ours.
        es.options(ignore_status=404).indices.delete(index=index)
        if not es.indices.exists_alias(name=names.related):
            raise


def ensure_indices(es: Elasticsearch, names: IndexNames, layout: IndexLayout | None = None) -> None:
    """Safe to run on every start: put the template, create the first index behind the alias if none.

    Replicas follow the layout on existing indices too (a dynamic setting), so moving a deployment from one
    node to a cluster is a restart with new settings; a new shard count takes effect at the next reindex.
    """
    layout = layout or IndexLayout()
    es.indices.put_index_template(name=names.articles_template, **article_template_body(names, layout))
    if not es.indices.exists_alias(name=names.articles):
        index = names.new_articles_index()
        es.indices.create(index=index, aliases={names.articles: {"is_write_index": True}})
    else:
        # Fields added since an index was made (its mapping is strict): added, never changed.
        es.indices.put_mapping(index=names.articles, properties=ARTICLE_ADDED_PROPERTIES)
    es.indices.put_index_template(name=names.related_template, **related_template_body(names, layout))
    if not es.indices.exists_alias(name=names.related):
        _related_behind_alias(es, names)
    else:
        es.indices.put_mapping(index=names.related, properties=RELATED_PROFILE_PROPERTIES)
    if not es.indices.exists(index=names.comment_counts):
        # Another process may create it between the check and here: that is the same index.
        es.options(ignore_status=400).indices.create(
            index=names.comment_counts,
            settings={"number_of_shards": 1, "number_of_replicas": layout.replicas},
            mappings=COMMENT_COUNT_MAPPINGS,
        )
    replicas = {"index": {"number_of_replicas": layout.replicas}}
    es.indices.put_settings(index=f"{names.articles},{names.related},{names.comment_counts}", settings=replicas)
    es.cluster.health(index=names.articles, wait_for_status="yellow", timeout="30s")


def delete_matching_indices(es: Elasticsearch, pattern: str) -> list[str]:
    """Delete every index a wildcard pattern matches, by name: the cluster refuses wildcard deletes
    (action.destructive_requires_name), so the names are resolved first. Returns the deleted names."""
    resolved = es.indices.resolve_index(name=pattern, expand_wildcards="all")
    names = sorted(index["name"] for index in resolved["indices"])
    for start in range(0, len(names), 50):  # short URLs, whatever the count
        es.options(ignore_status=404).indices.delete(index=",".join(names[start : start + 50]), ignore_unavailable=True)
    return names


def drop_indices(es: Elasticsearch, names: IndexNames) -> None:
    """Remove everything under a prefix (tests and demo resets)."""
    delete_matching_indices(es, f"{names.prefix}-*")
    for template in (names.articles_template, names.related_template):
        with contextlib.suppress(NotFoundError):
            es.indices.delete_index_template(name=template)
