"""The page microcache is bounded by bytes: expired pages go first, then the least recently used."""

from __future__ import annotations

import time

from services.publish import microcache
from services.publish.microcache import MicroCache

KB = 1024


def _key(n: int) -> tuple[str, str]:
    return (f"/teknologi/2026/01/01/berita-{n:016x}", "id")


def test_large_pages_never_exceed_the_byte_budget() -> None:
    cache = MicroCache(ttl=60, max_bytes=1024 * KB)
    body = b"x" * (200 * KB)
    for n in range(2_000):  # 400 MB of pages offered; under an entry limit of 2,000 all would stay
        cache.put(_key(n), body, None, uids=[f"{n:016x}"])
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 5
    assert cache.get(_key(1_999)) is not None and cache.get(_key(0)) is None


def test_expired_pages_are_evicted_before_live_ones() -> None:
    cache = MicroCache(ttl=0.2, max_bytes=3 * (100 * KB + microcache.ENTRY_OVERHEAD))
    old = b"o" * (100 * KB)
    cache.put(_key(1), old, None)
    cache.put(_key(2), old, None)
    time.sleep(0.25)  # both expired, never read again
    cache.ttl = 60
    cache.put(_key(3), old, None)
    cache.get(_key(3))
    cache.put(_key(4), old, None)
    cache.put(_key(5), old, None)
    # Room for three: the two expired pages went, all three live ones stayed.
    assert [cache.get(_key(n)) is not None for n in (1, 2, 3, 4, 5)] == [False, False, True, True, True]
    assert cache.bytes == 3 * (100 * KB + microcache.ENTRY_OVERHEAD)


def test_least_recently_used_goes_when_nothing_expired() -> None:
    cache = MicroCache(ttl=60, max_bytes=3 * (10 * KB + microcache.ENTRY_OVERHEAD))
    for n in (1, 2, 3):
        cache.put(_key(n), b"b" * (10 * KB), None)
    assert cache.get(_key(1)) is not None  # 1 is now the most recently used
    cache.put(_key(4), b"b" * (10 * KB), None)
    assert cache.get(_key(2)) is None
    assert all(cache.get(_key(n)) is not None for n in (1, 3, 4))


def test_oversized_page_and_replacement_keep_the_count_right() -> None:
    cache = MicroCache(ttl=60, max_bytes=50 * KB)
    cache.put(_key(1), b"a" * (10 * KB), None)
    cache.put(_key(2), b"z" * (60 * KB), None)  # larger than the whole budget: not cached, nothing evicted
    assert cache.get(_key(2)) is None and cache.get(_key(1)) is not None
    cache.put(_key(1), b"a" * (20 * KB), None)  # replacing a page counts its new size only
    assert cache.bytes == 20 * KB + microcache.ENTRY_OVERHEAD
    assert cache.purge(["nobody"]) == 0
    cache.clear()
    assert cache.bytes == 0 and len(cache) == 0


def test_purge_releases_bytes() -> None:
    cache = MicroCache(ttl=60, max_bytes=1024 * KB, settle=0.0)
    cache.put(_key(1), b"p" * KB, None, uids=["a" * 16, "b" * 16])
    cache.put(_key(2), b"p" * KB, None, uids=["c" * 16])
    assert cache.purge(["b" * 16]) == 1
    assert cache.bytes == cache.get(_key(2)).size  # type: ignore[union-attr]
