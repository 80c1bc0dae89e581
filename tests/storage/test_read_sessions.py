"""Read sessions (storage/database.py): PostgreSQL runs their statements outside a
transaction, and the pooled connection goes back to writers with transactions intact."""

from __future__ import annotations

from sqlalchemy import text

from storage.database import create_engine, read_session_factory, session_factory
from storage.migrate import migrate

# now() is the start of the transaction: the same twice within one, apart across two.


async def test_reads_run_outside_a_transaction_on_postgresql(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        await migrate(engine)
        reads, writes = read_session_factory(engine), session_factory(engine)
        async with reads() as session, session.begin():
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
            if engine.dialect.name != "postgresql":
                return  # SQLite keeps its transactions: nothing more to see
            first = (await session.execute(text("SELECT now()"))).scalar()
            await session.execute(text("SELECT pg_sleep(0.02)"))
            second = (await session.execute(text("SELECT now()"))).scalar()
            assert second > first  # each statement was its own transaction
        # The one pooled connection serves writers next: their transaction is whole again.
        async with writes() as session, session.begin():
            first = (await session.execute(text("SELECT now()"))).scalar()
            await session.execute(text("SELECT pg_sleep(0.02)"))
            second = (await session.execute(text("SELECT now()"))).scalar()
            assert second == first
    finally:
        await engine.dispose()
