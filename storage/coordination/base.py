"""The coordination port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

# A subscription yields `{"type": GAP}` in place of messages it could not deliver: the link to
# Redis broke and was rebuilt, or the consumer fell too far behind. Pub/sub is at most once;
# a consumer that must not miss anything reads what it shows from the database again.
GAP = "coordination.gap"


class Subscription(ABC):
    """Messages published on the subscribed topics, in publish order per topic, and a GAP
    notice where some may be missing (see GAP)."""

    @abstractmethod
    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message, or None after `timeout` seconds."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Coordination(ABC):
    @abstractmethod
    async def try_lock(self, key: str, owner: str, ttl: float) -> bool:
        """Take `key` for `owner` for `ttl` seconds unless someone else holds it."""

    @abstractmethod
    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        """Renew a lock `owner` still holds; False if it was lost."""

    @abstractmethod
    async def unlock(self, key: str, owner: str) -> None:
        """Release `key` if `owner` holds it."""

    @abstractmethod
    async def claim(self, key: str, ttl: float) -> bool:
        """True the first time `key` is claimed within `ttl` seconds (dedupe fast path)."""

    @abstractmethod
    async def forget(self, key: str) -> None:
        """Drop a claim (when the work it guarded failed and must be retried)."""

    async def publish(self, topic: str, message: dict[str, Any]) -> int:
        """Send to every current subscriber of `topic`; returns how many received it."""
        return await self.publish_many((topic,), message)

    @abstractmethod
    async def publish_many(self, topics: Sequence[str], message: dict[str, Any]) -> int:
        """`publish` to each topic in turn, at the cost of one; returns the deliveries."""

    @abstractmethod
    async def subscribe(self, *topics: str) -> Subscription: ...

    @abstractmethod
    async def hit(self, key: str, limit: int, window: float) -> bool:
        """Count one event; False when more than `limit` happened in the last `window` s."""

    @abstractmethod
    async def reserve(self, key: str, rate: float) -> float:
        """Reserve the next slot of a `rate`-per-second pace; returns seconds to wait."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
