"""Two senders on PostgreSQL: a row another sender finished while this one's lease query ran
is not leased again (PostgreSQL re-checks only the outer WHERE of a row it locks)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import utcnow
from storage import conversations, customers, outbox
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from tests.storage.rows import lease_due, queued_reply


async def _two_queued_sends(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    earlier = utcnow() - timedelta(seconds=5)
    async with sessions() as s, s.begin():
        identity = await customers.resolve_identity(s, "sms", "+905551119999", now=earlier)
        thread = await conversations.open_conversation(s, identity.customer_id, earlier)
        address = {"channel": "sms", "provider": "twilio", "account": "+1", "chat_id": "+90"}
        return [
            await queued_reply(s, thread.id, identity.customer_id, f"reply {n}", earlier, address)
            for n in range(2)
        ]


async def test_a_row_finished_meanwhile_is_not_leased_again(pg_url: str) -> None:
    engine = create_engine(pg_url)
    await migrate(engine)
    sessions = session_factory(engine)
    try:
        head, _second = await _two_queued_sends(sessions)

        # Sender A's due query sleeps after taking its snapshot, so that sender B can record
        # the head as sent in between: the window of a real race, made certain.
        @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
        def slow(conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> Any:
            if conn.info.get("slow") and "GROUP BY outbox.conversation_id" in sql:
                sql = sql.replace("GROUP BY", "AND (SELECT 1 FROM pg_sleep(1)) = 1 GROUP BY")
            return sql, params

        async def sender_a() -> list[tuple[int, str]]:
            async with sessions() as s, s.begin():
                (await s.connection()).info["slow"] = True
                rows = await lease_due(s, "A", 60, 10)
                return [(row.id, row.status) for row in rows]

        async def sender_b_records_the_head() -> None:
            await asyncio.sleep(0.3)  # A's statement has its snapshot by now
            async with sessions() as s, s.begin():
                await outbox.finish(s, head, "sent")

        leased, _ = await asyncio.gather(sender_a(), sender_b_records_the_head())
        assert (head, "sent") not in leased
        assert all(status == "pending" for _, status in leased)
    finally:
        await engine.dispose()
