"""Two ingest batches on PostgreSQL that saw different senders as known lock the senders'
identity rows in one order, and do not deadlock.

A first-contact burst on several workers: batch 2 looks before customers X and Y exist, batch 1
after Y was created but before X was. Locking the senders a batch knew first and the new ones
after, batch 1 would hold Y and wait for X, while batch 2 (to which both were new) holds X and
waits for Y. The full path's first read for X sleeps in both batches, while the other
customers are created: the window of a real race, made certain.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.identity import IdentityResolver
from bot.model import Address, Inbound, utcnow
from bot.settings import Settings
from storage import customers
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import CustomerRow

X, Y = "+905552300001", "+905552300002"  # X sorts first


def message(phone: str, sid: str) -> Inbound:
    return Inbound(
        provider_id=sid,
        address=Address("sms", "twilio", "+15005550006", phone),
        text="merhaba",
        external_id=phone,
    )


async def _first_contact(sessions: async_sessionmaker[AsyncSession], phone: str) -> None:
    """Another worker's batch, committed: the customer exists from now on."""
    async with sessions() as s, s.begin():
        address = message(phone, "").address.to_dict()
        await customers.resolve_identity(s, "sms", phone, now=utcnow(), address=address)


async def test_senders_new_to_one_batch_and_known_to_the_other(pg_url: str) -> None:
    engine = create_engine(pg_url)
    await migrate(engine)
    sessions = session_factory(engine)
    resolver = IdentityResolver(Settings(database_url=pg_url))
    try:

        @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
        def slow(conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> Any:
            if conn.info.get("slow") and "identities.external_id = $" in sql and X in params:
                nap = " AND (SELECT 1 FROM pg_sleep(1)) = 1"
                sql = (
                    sql.replace(" ORDER BY", nap + " ORDER BY", 1)
                    if " ORDER BY" in sql
                    else sql + nap
                )
            return sql, params

        async def batch(delay: float) -> list[int]:
            await asyncio.sleep(delay)
            async with sessions() as s, s.begin():
                (await s.connection()).info["slow"] = True
                resolved = await resolver.resolve_senders(
                    s, [message(X, f"SM{delay}x"), message(Y, f"SM{delay}y")], utcnow()
                )
                return [identity.customer_id for identity in resolved]

        async def others() -> None:
            await asyncio.sleep(0.1)  # after batch 2 looked
            await _first_contact(sessions, Y)
            await asyncio.sleep(0.2)  # after batch 1 looked
            await _first_contact(sessions, X)

        second, first, _ = await asyncio.wait_for(
            asyncio.gather(batch(0.0), batch(0.2), others()), timeout=30
        )
        assert first == second and len(set(first)) == 2
        async with sessions() as s:
            # The batches' own customers for X and Y lost the race and were dropped.
            assert await s.scalar(select(func.count()).select_from(CustomerRow)) == 2
    finally:
        await engine.dispose()
