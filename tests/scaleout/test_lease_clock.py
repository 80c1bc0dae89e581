"""Workers on several hosts disagree about the time. A lease on an outbox row is dated and
checked by PostgreSQL's clock, so a sender whose clock runs minutes ahead leaves alone a row
another sender is still sending (it would otherwise send it a second time)."""

from __future__ import annotations

from datetime import timedelta

from bot.model import utcnow
from storage import conversations, customers, outbox
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import OutboxRow
from tests.storage.rows import lease_due, queued_reply


async def test_a_sender_whose_clock_runs_ahead_does_not_take_a_live_lease(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        async with sessions() as s, s.begin():
            identity = await customers.resolve_identity(s, "sms", "+905551112233", now=utcnow())
            thread = await conversations.open_conversation(s, identity.customer_id, utcnow())
            row_id = await queued_reply(s, thread.id, identity.customer_id, "r", utcnow())
        async with sessions() as s, s.begin():
            assert [r.id for r in await lease_due(s, "a", 60)] == [row_id]

        ahead = utcnow() + timedelta(minutes=5)  # past the 60 s lease on the sender's clock
        async with sessions() as s, s.begin():
            heads, leased = await outbox.lease_heads(s, ahead, "b", 60, take=10, read=10)
            taken = await outbox.lease(s, [row_id], "b", ahead, 60)
        assert heads == [] and leased == [] and taken == []
        async with sessions() as s:
            row = await s.get(OutboxRow, row_id)
        assert row is not None and row.lease_owner == "a"

        # A lease that has run out on the database's clock leaves the row due again.
        async with sessions() as s, s.begin():
            await outbox.retry_later(s, row_id, utcnow() - timedelta(seconds=1), "429")
            assert [r.id for r in await lease_due(s, "c", -1)] == [row_id]  # ends at once
        async with sessions() as s, s.begin():
            again = await outbox.lease(s, [row_id], "d", utcnow(), 60)
        assert [r.id for r in again] == [row_id]
    finally:
        await engine.dispose()
