"""Topology is configuration: node lists, Sentinel addresses and the shard sizing rule, read from settings."""

from __future__ import annotations

import pytest

from shared.es import IndexLayout, IndexNames, article_template_body, es_hosts, related_template_body, shard_count
from shared.redisconn import redis_client, sentinel_hosts
from shared.settings import KabarSettings


def test_es_hosts_lists_every_node() -> None:
    assert es_hosts("http://127.0.0.1:9200") == ["http://127.0.0.1:9200"]
    assert es_hosts(" http://a:9200, http://b:9200 ,http://c:9200,") == [
        "http://a:9200",
        "http://b:9200",
        "http://c:9200",
    ]
    with pytest.raises(ValueError):
        es_hosts(" , ")


def test_sentinel_hosts() -> None:
    assert sentinel_hosts("") == []
    assert sentinel_hosts("127.0.0.1:26391, sentinel-2:26379") == [("127.0.0.1", 26391), ("sentinel-2", 26379)]
    for bad in ("sentinel", "host:port", ":26379"):
        with pytest.raises(ValueError):
            sentinel_hosts(bad)


def test_redis_client_uses_sentinel_only_when_sentinels_are_given() -> None:
    plain = redis_client(KabarSettings(redis_url="redis://:secret@127.0.0.1:6379/3"))
    assert plain.connection_pool.connection_kwargs["db"] == 3
    managed = redis_client(
        KabarSettings(
            redis_url="redis://:secret@ignored:6379/3",
            redis_sentinels="127.0.0.1:26391,127.0.0.1:26392",
            redis_sentinel_master="kabar-cluster",
            redis_sentinel_password="sentinel-secret",
        )
    )
    pool = managed.connection_pool
    assert pool.service_name == "kabar-cluster"  # type: ignore[attr-defined]
    assert pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "secret"
    sentinels = pool.sentinel_manager.sentinels  # type: ignore[attr-defined]
    assert [c.connection_pool.connection_kwargs["port"] for c in sentinels] == [26391, 26392]
    assert {c.connection_pool.connection_kwargs["password"] for c in sentinels} == {"sentinel-secret"}


@pytest.mark.parametrize(
    ("documents", "bytes_per_document", "target", "shards"),
    [
        (0, 12_000, 30 * 1024**3, 1),  # never zero
        (200_000, 12_000, 30 * 1024**3, 1),  # 2.4 GB
        (10_000_000, 12_000, 30 * 1024**3, 4),  # 120 GB
        (10_000_000, 12_000, 10 * 1024**3, 12),
        (2_684_355, 12_000, 30 * 1024**3, 2),  # just over one target's worth
    ],
)
def test_shard_count_is_size_over_target_rounded_up(
    documents: int, bytes_per_document: int, target: int, shards: int
) -> None:
    assert shard_count(documents=documents, bytes_per_document=bytes_per_document, target_shard_bytes=target) == shards


def test_layout_from_settings_reaches_the_templates() -> None:
    settings = KabarSettings(es_replicas=1, es_expected_articles=10_000_000, es_bytes_per_article=12_000)
    layout = IndexLayout.from_settings(settings)
    assert layout == IndexLayout(article_shards=4, related_shards=2, replicas=1)  # 120 GB and 60 GB
    names = IndexNames("t")
    articles = article_template_body(names, layout)["template"]["settings"]
    related = related_template_body(names, layout)["template"]["settings"]
    assert (articles["number_of_shards"], articles["number_of_replicas"]) == (4, 1)
    assert (related["number_of_shards"], related["number_of_replicas"]) == (2, 1)
    # One node: one shard, no replica (a replica on a single node could never be assigned).
    assert IndexLayout.from_settings(KabarSettings()) == IndexLayout()
