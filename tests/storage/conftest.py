"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, session_factory
from storage.migrate import migrate


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty database of each backend."""
    engine = create_engine(database_url)
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()
