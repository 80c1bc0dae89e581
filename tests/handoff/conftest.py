"""Fixtures of the hand-off tests. Cross-worker tests need Redis (OMNIGATE_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL = os.environ.get("OMNIGATE_TEST_REDIS_URL", "")


@pytest.fixture
async def redis_settings() -> AsyncIterator[dict[str, str]]:
    """Settings of a gateway on the shared Redis, under a key prefix of this test's own."""
    if not REDIS_URL:
        pytest.skip("OMNIGATE_TEST_REDIS_URL not set (CI sets redis://127.0.0.1:6379/0)")
    prefix = f"omnigate-handoff-{secrets.token_hex(6)}:"
    yield {"redis_url": REDIS_URL, "redis_prefix": prefix}
    admin = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()
