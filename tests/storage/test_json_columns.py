"""JSON columns go through orjson (storage/database.py), and what orjson cannot write or read
still round-trips: a payload with an integer past 64 bits (a client may send one), and JSON
text with NaN that the json module wrote before."""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import utcnow
from storage import conversations, customers
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import ConversationRow


async def _thread(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s, s.begin():
        identity = await customers.resolve_identity(s, "webchat", "visitor-1", now=utcnow())
        return (await conversations.open_conversation(s, identity.customer_id, utcnow())).id


async def test_values_orjson_refuses_round_trip(sessions) -> None:
    thread = await _thread(sessions)
    dialog = {"step": "order", "data": {"big": 2**70, "name": "İğdır Şükrü", "n": [1, 2.5]}}
    async with sessions() as s, s.begin():
        row = await s.get(ConversationRow, thread)
        assert row is not None
        row.dialog = dialog
    async with sessions() as s:
        stored = await s.get(ConversationRow, thread)
    assert stored is not None and stored.dialog == dialog


async def test_nan_written_by_the_json_module_still_reads(sqlite_url: str) -> None:
    """SQLite only: PostgreSQL's json type never stored NaN."""
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        thread = await _thread(sessions)
        async with sessions() as s, s.begin():
            await s.execute(
                text("UPDATE conversations SET dialog = :d WHERE id = :id"),
                {"d": '{"step": null, "data": {"score": NaN}}', "id": thread},
            )
        async with sessions() as s:
            stored = await s.get(ConversationRow, thread)
        assert stored is not None and math.isnan(stored.dialog["data"]["score"])
    finally:
        await engine.dispose()
