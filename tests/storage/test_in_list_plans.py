"""Statements that change or read a list of rows by key look those keys up on SQLite, instead
of walking a status index (every pending message, queued send or open conversation).

Without statistics, SQLite's planner prefers an index on an equality such as
`status = 'pending'` to the keys of an IN list once the list has a few items, so changing a
handful of rows cost as much as a burst's whole backlog (storage.dialect.not_indexed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from storage.conversations import _FIND_OPEN_THREADS
from storage.database import create_engine
from storage.migrate import migrate
from storage.outbox import _LEASE
from storage.turn_state import _FINISH_TURNS

NOW = datetime(2026, 12, 5, tzinfo=UTC)
CASES: dict[str, tuple[Any, str, str]] = {
    # name: (statement, its IN list's parameter, the step it must take)
    "lease sends": (_LEASE, "ids", "SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)"),
    "finish turns": (_FINISH_TURNS, "ids", "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)"),
    "open threads": (
        _FIND_OPEN_THREADS,
        "cids",
        "SEARCH conversations USING INDEX ix_conversations_customer_id (customer_id=?)",
    ),
}
OTHER_PARAMS = {"owner": "sender", "until": NOW, "at": NOW, "status": "answered"}


@pytest.mark.parametrize("size", [4, 64])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_keys_are_looked_up(sqlite_url: str, name: str, size: int) -> None:
    statement, keys, step = CASES[name]
    engine = create_engine(sqlite_url)
    plans: list[list[str]] = []

    def explain(conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        """The plan of the statement exactly as SQLAlchemy sends it (IN list expanded)."""
        sqlite3_connection = conn.connection.driver_connection._conn
        rows = sqlite3_connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plans.append([row[3] for row in rows])

    try:
        await migrate(engine)
        event.listen(engine.sync_engine, "before_cursor_execute", explain)
        async with engine.connect() as connection:
            params = {**OTHER_PARAMS, keys: list(range(1, size + 1))}
            await connection.execute(statement, params)
            await connection.rollback()
    finally:
        await engine.dispose()
    assert plans == [[step]]
