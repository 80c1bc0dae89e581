"""Shared fixtures. PostgreSQL variants run when OMNIGATE_TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support import PG_URL, REDIS_URL, LiveGateway, fresh_database, start_gateway

NO_REDIS = "OMNIGATE_TEST_REDIS_URL not set (CI sets redis://127.0.0.1:6379/0)"

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="OMNIGATE_TEST_DATABASE_URL not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """An empty database on each backend: the shared contract runs against both."""
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Any) -> AsyncIterator[str]:
    async with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def live_gateway_any(database_url: str) -> AsyncIterator[LiveGateway]:
    """A real gateway on loopback, once per database backend."""
    async with start_gateway(database_url) as gateway:
        yield gateway


@pytest.fixture
async def live_gateway(sqlite_url: str) -> AsyncIterator[LiveGateway]:
    """A real gateway on loopback with a fresh SQLite database (the embedded default)."""
    async with start_gateway(sqlite_url) as gateway:
        yield gateway


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix no other test uses on the shared Redis; its keys are deleted after."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    prefix = f"omnigate-test-{secrets.token_hex(6)}:"
    yield prefix
    admin = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()
