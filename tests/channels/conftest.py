"""Fixtures for the end-to-end channel tests: the provider fakes and a gateway wired to them.

`channels` runs on SQLite (quick); `channels_any` once per database backend (SQLite, and
PostgreSQL when OMNIGATE_TEST_DATABASE_URL is set) for the flows where the backend matters:
dedupe, ordering, retries. Tests that need other settings use `channel_stack(url, **settings)`.

Every test here also checks the server log: no traceback may be logged, whatever the input.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.fakes import FakeGraph, FakeTelegram, FakeTwilio
from tests.channels.stack import Stack, channel_stack
from tests.support import LiveGateway


@pytest.fixture
async def channels(sqlite_url: str) -> AsyncIterator[Stack]:
    async with channel_stack(sqlite_url) as stack:
        yield stack


@pytest.fixture
async def channels_any(database_url: str) -> AsyncIterator[Stack]:
    async with channel_stack(database_url) as stack:
        yield stack


@pytest.fixture
def twilio_gateway(channels: Stack) -> tuple[LiveGateway, FakeTwilio]:
    return channels.gw, channels.twilio


@pytest.fixture
def whatsapp_gateway(channels: Stack) -> tuple[LiveGateway, FakeGraph]:
    return channels.gw, channels.graph


@pytest.fixture
def telegram_gateway(channels: Stack) -> tuple[LiveGateway, FakeTelegram]:
    return channels.gw, channels.telegram


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing the providers (or attackers) send may crash a handler or a background task."""
    caplog.set_level(logging.INFO)
    yield
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]
    crashes = [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.exc_info is not None or "Traceback" in r.getMessage()
    ]
    assert not crashes, f"tracebacks in the server log: {crashes}"
