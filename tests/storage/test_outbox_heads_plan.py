"""The sender's due-heads query reads pending rows from one index, never the table's history.

It runs on every sender round, so a plan that walks the table (or every pending row to look
up its conversation) makes each round cost as much as the backlog: what this guards against.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.database import create_engine
from storage.migrate import migrate
from storage.outbox import _DUE


@pytest.mark.parametrize(
    ("of_conversations", "search"),
    [(False, "(status=?)"), (True, "(status=? AND conversation_id=?)")],
)
async def test_heads_come_from_the_covering_index(
    sqlite_url: str, of_conversations: bool, search: str
) -> None:
    engine = create_engine(sqlite_url)
    try:
        await migrate(engine)
        query = _DUE[of_conversations, False].params(
            now=datetime.now(UTC), limit=10, conversations=[1, 2]
        )
        sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        async with engine.connect() as connection:
            plan = [row[3] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    finally:
        await engine.dispose()
    heads = [step for step in plan if "outbox" in step and "rowid" not in step]
    assert heads == [f"SEARCH outbox USING COVERING INDEX ix_outbox_heads {search}"], plan
    assert not any("GROUP BY" in step for step in plan), plan  # grouped in index order
