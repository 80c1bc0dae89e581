"""Coordination between workers: locks, dedupe keys, pub/sub, rate limits.

`MemoryCoordination` serves one process (the embedded default); `RedisCoordination` serves
several workers. Both pass the same contract tests.
"""

from storage.coordination.base import GAP, Coordination, Subscription
from storage.coordination.memory import MemoryCoordination


def create_coordination(redis_url: str, prefix: str = "omnigate:") -> Coordination:
    if not redis_url:
        return MemoryCoordination()
    from storage.coordination.redis import RedisCoordination

    return RedisCoordination(redis_url, prefix=prefix)


__all__ = ["GAP", "Coordination", "MemoryCoordination", "Subscription", "create_coordination"]
