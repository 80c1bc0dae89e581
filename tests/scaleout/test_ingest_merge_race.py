"""A merge committed by another transaction while ingest waits on the sender's identity row:
the message goes to the surviving customer, not to the one merged away (PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.events import EventBus
from bot.gateway import Gateway
from bot.identity import IdentityResolver
from bot.metrics import Metrics
from bot.model import Address, Inbound, utcnow
from bot.settings import Settings
from storage import customers, merges
from storage.coordination import MemoryCoordination
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import ConversationRow, MessageRow


async def test_message_follows_a_merge_that_commits_while_ingest_waits(pg_url: str) -> None:
    engine = create_engine(pg_url)
    await migrate(engine)
    sessions = session_factory(engine)
    gateway = Gateway(
        sessions,
        EventBus(MemoryCoordination()),
        Metrics(),
        lambda _cid: None,
        lambda: None,
        IdentityResolver(Settings(database_url=pg_url)),
    )
    gateway.start(writers=1)
    try:
        async with sessions() as s, s.begin():
            survivor = await customers.resolve_identity(s, "sms", "+905551118888", now=utcnow())
            merged = await customers.resolve_identity(s, "telegram", "4242", now=utcnow())
            survivor_id, merged_id = survivor.customer_id, merged.customer_id
        merging = asyncio.Event()

        async def agent_merges() -> None:  # holds the telegram identity's row for a second
            async with sessions() as s, s.begin():
                await merges.merge(
                    s, survivor_id, merged_id, reason="test", actor="admin", now=utcnow()
                )
                merging.set()
                await asyncio.sleep(1.0)

        merge = asyncio.create_task(agent_merges())
        await merging.wait()
        message = Inbound(
            provider_id="TG-race-1",
            address=Address("telegram", "telegram", "bot", "4242"),
            text="merhaba",
            external_id="4242",
        )
        (result,) = await gateway.ingest([message])
        await merge

        assert result.customer_id == survivor_id
        async with sessions() as s:
            stored = await s.scalar(select(MessageRow).where(MessageRow.id == result.message_id))
            assert stored is not None and stored.customer_id == survivor_id
            owners = await s.scalars(
                select(ConversationRow.customer_id).where(
                    ConversationRow.id == result.conversation_id
                )
            )
            assert list(owners) == [survivor_id]
            orphan = await s.scalars(
                select(ConversationRow.id).where(ConversationRow.customer_id == merged_id)
            )
            assert list(orphan) == []  # nothing opened for the customer merged away
    finally:
        await gateway.stop()
        await engine.dispose()
