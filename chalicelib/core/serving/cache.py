"""Per-container caches: a bounded LRU (loaded models, version records) and a TTL map (alias → version).

A Lambda container serves one request at a time, but the local API server is threaded: both caches
are guarded by a lock. The clock is injectable so tests can move time.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Final, Literal, overload


class _Missing(enum.Enum):
    """The type of :data:`MISSING` (an enum member, so ``is MISSING`` narrows a value's type)."""

    MISSING = "MISSING"


_MISSING: Final = _Missing.MISSING


class LRUCache[K: Hashable, V]:
    """At most ``capacity`` entries; the least recently used one is evicted first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get[D](self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class TTLCache[K: Hashable, V]:
    """Values remembered for ``ttl_seconds`` (``None`` values too: "no such alias" is an answer)."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic,
                 capacity: int = 1024) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._items: LRUCache[K, tuple[V, float]] = LRUCache(capacity)

    def get(self, key: K) -> V | Literal[_Missing.MISSING]:
        """The cached value, or the module's ``MISSING`` sentinel when absent or expired."""
        found = self._items.get(key, _MISSING)
        if found is _MISSING:
            return _MISSING
        value, expires = found
        return value if self._clock() < expires else _MISSING

    def put(self, key: K, value: V) -> None:
        self._items.put(key, (value, self._clock() + self.ttl_seconds))

    def clear(self) -> None:
        self._items.clear()


MISSING: Final = _MISSING
