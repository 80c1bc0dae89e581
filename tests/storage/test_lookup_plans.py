"""Lookups on the ingest and send paths seek their rows by key on SQLite, instead of walking a
table or a status index, whose size grows with the customers, conversations or backlog.

Statements that change or read a list of rows by key: without statistics, SQLite's planner
prefers an index on an equality such as `status = 'pending'` to the keys of an IN list once
the list has a few items, so changing a handful of rows cost as much as a burst's whole
backlog (storage.dialect.not_indexed). A new sender's same-phone (or email) owner: the
customers table had no index on either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import links
from storage.conversations import _FIND_OPEN_THREADS
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.outbox import _LEASE
from storage.turn_state import _FINISH_TURNS

NOW = datetime(2026, 12, 5, tzinfo=UTC)
CASES: dict[str, tuple[Any, str, str, dict[str, Any]]] = {
    # name: (statement, its IN list's parameter, the step it must take, its other parameters)
    "lease sends": (
        _LEASE[False],  # the SQLite variant
        "ids",
        "SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)",
        {"owner": "sender", "until": NOW, "now": NOW},
    ),
    "finish turns": (
        _FINISH_TURNS,
        "ids",
        "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)",
        {"status": "answered"},
    ),
    "open threads": (
        _FIND_OPEN_THREADS,
        "cids",
        "SEARCH conversations USING INDEX ix_conversations_customer_id (customer_id=?)",
        {},
    ),
}


def explaining(engine: AsyncEngine, plans: list[list[str]]) -> None:
    """Record the plan of every statement the engine runs, as SQLAlchemy sends it."""

    def explain(conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        sqlite3_connection = conn.connection.driver_connection._conn
        rows = sqlite3_connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plans.append([row[3] for row in rows])

    event.listen(engine.sync_engine, "before_cursor_execute", explain)


@pytest.mark.parametrize("size", [4, 64])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_keys_are_looked_up(sqlite_url: str, name: str, size: int) -> None:
    statement, keys, step, others = CASES[name]
    engine = create_engine(sqlite_url)
    plans: list[list[str]] = []
    try:
        await migrate(engine)
        explaining(engine, plans)
        async with engine.connect() as connection:
            params = {**others, keys: list(range(1, size + 1))}
            await connection.execute(statement, params)
            await connection.rollback()
    finally:
        await engine.dispose()
    assert plans == [[step]]


async def test_a_phone_or_email_owner_is_sought_by_index(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    plans: list[list[str]] = []
    try:
        await migrate(engine)
        explaining(engine, plans)
        async with session_factory(engine)() as session:
            assert await links.phone_owner(session, "+905551112233") is None
            assert await links.email_owner(session, "ayse@example.com") is None
    finally:
        await engine.dispose()
    identities, by_phone, by_email = plans
    assert identities[0].startswith("SEARCH identities USING INDEX"), identities
    assert by_phone[0] == "SEARCH customers USING INDEX ix_customers_phone (phone=?)", by_phone
    assert by_email[0] == "SEARCH customers USING INDEX ix_customers_email (email=?)", by_email
