"""What a change purges at the edge, and the settings that point the workers at it."""

from __future__ import annotations

import pytest

from services.index.config import IndexSettings
from services.index.edge.purger import KEYS_PER_REQUEST, change_purge
from services.publish.config import PublishSettings
from services.publish.surrogate import surrogate_control
from shared.batching import chunks
from shared.purge import (
    FEEDS,
    HOME,
    SITEMAPS,
    article_key,
    author_key,
    change_keys,
    gone_key,
    section_key,
    shows_key,
    tag_key,
    tombstone_paths,
)

UID = "0123456789abcdef"
DOC = {
    "section_slug": "kota",
    "tags": ["Banjir Rob", " "],
    "authors": ["Sari, M.", "Budi"],
    "path": "/kota/x-0123456789abcdef",
}


def test_an_upsert_purges_its_pages_every_list_it_may_join_and_its_tombstones() -> None:
    keys = change_keys(UID, DOC, removed=False)
    assert set(keys) == {
        article_key(UID),
        shows_key(UID),
        gone_key(UID),
        HOME,
        FEEDS,
        SITEMAPS,
        section_key("kota"),
        tag_key("Banjir Rob"),
        author_key("Sari, M."),
        author_key("Budi"),
    }
    # Each key is one xkey token: values with spaces or commas are digested.
    assert all(" " not in k and "," not in k for k in keys)


def test_a_removal_keeps_its_tombstones() -> None:
    assert gone_key(UID) not in change_keys(UID, DOC, removed=True)
    assert set(change_keys(UID, None, removed=True)) == {article_key(UID), shows_key(UID), HOME, FEEDS, SITEMAPS}


def test_tag_and_author_keys_ignore_case_and_surrounding_space() -> None:
    assert tag_key("Banjir Rob") == tag_key(" banjir rob ") != tag_key("banjir")
    assert author_key("SARI") == author_key("sari")


def test_a_removed_article_gets_tombstones_for_every_url_variant_the_edge_keeps() -> None:
    purge = change_purge(upserted={"a" * 16: DOC}, removed={UID: (3, DOC)})
    [tombstone] = purge.tombstones
    assert tombstone.uid == UID and tombstone.revision == 3
    assert (
        tombstone.paths
        == tombstone_paths(UID, DOC["path"])
        == [
            DOC["path"],
            f"{DOC['path']}?lang=en",
            f"{DOC['path']}?lang=id",
            f"/api/v1/articles/{UID}",
            f"/api/v1/articles/{UID}/related",
        ]
    )
    assert gone_key("a" * 16) in purge.keys and gone_key(UID) not in purge.keys
    assert len(purge.keys) == len(set(purge.keys))
    # A deleted article the index kept no path for still loses its API answers.
    assert change_purge(upserted={}, removed={UID: (2, None)}).tombstones[0].paths == tombstone_paths(UID, None)


def test_keys_go_out_in_batches_small_enough_for_varnish_headers() -> None:
    keys = [shows_key(f"{i:016x}") for i in range(KEYS_PER_REQUEST * 2 + 1)]
    batches = list(chunks(keys, KEYS_PER_REQUEST))
    assert [len(b) for b in batches] == [KEYS_PER_REQUEST, KEYS_PER_REQUEST, 1]
    assert max(len(" ".join(b)) for b in batches) < 8192


def test_edge_urls_are_comma_separated_and_empty_means_no_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KABAR_EDGE_URLS", raising=False)
    assert IndexSettings().edge_urls == []
    monkeypatch.setenv("KABAR_EDGE_URLS", "http://127.0.0.1:6081, http://10.0.0.2:6091 ,")
    assert IndexSettings().edge_urls == ["http://127.0.0.1:6081", "http://10.0.0.2:6091"]


def test_error_pages_are_kept_briefly_at_the_edge() -> None:
    settings = PublishSettings(edge_max_age=600, edge_stale_while_revalidate=20, edge_stale_if_error=3600)
    assert surrogate_control(settings, 200) == "max-age=600, stale-while-revalidate=20, stale-if-error=3600"
    assert surrogate_control(settings, 410).startswith("max-age=30,")
