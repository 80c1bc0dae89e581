"""Fixtures of the scale-out failure tests: a throwaway PostgreSQL database, a Redis key prefix
of the test's own (deleted afterwards), and a FakeTwilio.

They need the real services: OMNIGATE_TEST_DATABASE_URL and OMNIGATE_TEST_REDIS_URL (CI sets
both); without them the tests are skipped with the reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from adapters.fakes import FakeTwilio
from tests.scaleout.cluster import TWILIO_SID, TWILIO_TOKEN
from tests.support import PG_URL, fresh_database

REDIS_URL = os.environ.get("OMNIGATE_TEST_REDIS_URL", "")
NO_POSTGRES = "OMNIGATE_TEST_DATABASE_URL not set (CI sets postgresql+asyncpg://…/test)"
NO_REDIS = "OMNIGATE_TEST_REDIS_URL not set (CI sets redis://127.0.0.1:6379/0)"


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    if not PG_URL:
        pytest.skip(NO_POSTGRES)
    async with fresh_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix no other test uses on the shared Redis; its keys are deleted after."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    prefix = f"omnigate-scaleout-{secrets.token_hex(6)}:"
    yield prefix
    admin = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
