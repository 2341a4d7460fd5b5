"""A small TTL cache for results of read-only calls, cleared by any call that may change things."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

V = TypeVar("V")
Clock = Callable[[], float]

MAX_ENTRIES = 512


def cache_key(tool: str, arguments: Mapping[str, Any], target: tuple[object, ...], caller: str) -> str:
    """Everything that can change an answer: the tool, its arguments, the cluster and identity
    (the pool key holds a token's digest, not the token) and the caller, since different users
    may be shown different things. Hashed, so no argument (a per-call token) sits in memory twice."""
    payload = json.dumps([tool, arguments, list(target), caller], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


class ReadCache(Generic[V]):
    """Entries live `ttl` seconds; at most `max_entries`, the least recently used go first.

    `generation` moves on every clear(): a read that started before a change must not store
    what it saw after the change cleared the cache, so put() takes the generation it began in.
    """

    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: V, generation: int) -> None:
        if not self.enabled or generation != self.generation:
            return
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
