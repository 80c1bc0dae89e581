"""Fixtures of the scale-out failure tests: a throwaway PostgreSQL database and a FakeTwilio
(the Redis key prefix of the test's own, `redis_prefix`, is in tests/conftest.py).

They need the real services: OMNIGATE_TEST_DATABASE_URL and OMNIGATE_TEST_REDIS_URL (CI sets
both); without them the tests are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.fakes import FakeTwilio
from tests.scaleout.cluster import TWILIO_SID, TWILIO_TOKEN
from tests.support import PG_URL, fresh_database

NO_POSTGRES = "OMNIGATE_TEST_DATABASE_URL not set (CI sets postgresql+asyncpg://…/test)"


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    if not PG_URL:
        pytest.skip(NO_POSTGRES)
    async with fresh_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
