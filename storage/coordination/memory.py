"""In-process coordination for the embedded, single-process default."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

from storage.coordination.base import Coordination, Subscription


class _MemorySubscription(Subscription):
    def __init__(self, owner: MemoryCoordination, topics: tuple[str, ...]) -> None:
        self._owner = owner
        self._topics = topics
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        for topic in self._topics:
            self._owner._subscribers[topic].discard(self)


class MemoryCoordination(Coordination):
    def __init__(self) -> None:
        self._locks: dict[str, tuple[str, float]] = {}
        self._claims: dict[str, float] = {}
        self._subscribers: defaultdict[str, set[_MemorySubscription]] = defaultdict(set)
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)
        self._next_slot: dict[str, float] = {}

    async def try_lock(self, key: str, owner: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._locks.get(key)
        if held and held[0] != owner and held[1] > now:
            return False
        self._locks[key] = (owner, now + ttl)
        return True

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        held = self._locks.get(key)
        now = time.monotonic()
        if not held or held[0] != owner or held[1] <= now:
            return False  # expired: someone else may have taken it meanwhile
        self._locks[key] = (owner, now + ttl)
        return True

    async def unlock(self, key: str, owner: str) -> None:
        held = self._locks.get(key)
        if held and held[0] == owner:
            del self._locks[key]

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        if len(self._claims) > 100_000:
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        expiry = self._claims.get(key)
        if expiry is not None and expiry > now:
            return False
        self._claims[key] = now + ttl
        return True

    async def forget(self, key: str) -> None:
        self._claims.pop(key, None)

    async def publish_many(self, topics: Sequence[str], message: dict[str, Any]) -> int:
        delivered = 0
        for topic in topics:
            subscribers = list(self._subscribers.get(topic, ()))
            for sub in subscribers:
                sub.queue.put_nowait(message)
            delivered += len(subscribers)
        return delivered

    async def subscribe(self, *topics: str) -> Subscription:
        sub = _MemorySubscription(self, topics)
        for topic in topics:
            self._subscribers[topic].add(sub)
        return sub

    async def hit(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        events = self._hits[key]
        while events and events[0] <= now - window:
            events.popleft()
        if len(events) >= limit:
            return False
        events.append(now)
        return True

    async def reserve(self, key: str, rate: float) -> float:
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        slot = max(now, self._next_slot.get(key, now))
        self._next_slot[key] = slot + 1.0 / rate
        return slot - now
