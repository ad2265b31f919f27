"""The two cache types of serving: LRU eviction and TTL expiry on an injected clock."""

from chalicelib.core.serving.cache import MISSING, LRUCache, TTLCache


def test_lru_evicts_the_least_recently_used():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]


def test_ttl_cache_expires_entries_on_its_clock():
    now = [0.0]
    cache = TTLCache(5, clock=lambda: now[0])
    cache.put("k", None)
    assert cache.get("k") is None
    now[0] = 5.0
    assert cache.get("k") is MISSING
