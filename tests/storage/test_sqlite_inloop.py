"""SQLite runs on the event loop's thread (storage/sqlite_inloop.py), behind SQLAlchemy."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.database import create_engine, session_factory


async def test_statements_run_on_the_loop_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'inloop.db'}")
    seen: list[int] = []
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            raw.driver_connection._conn.create_function(  # type: ignore[union-attr]
                "whoami", 0, lambda: seen.append(threading.get_ident()) or 1
            )
            assert (await conn.execute(text("SELECT whoami()"))).scalar() == 1
        assert seen == [threading.get_ident()]
    finally:
        await engine.dispose()


async def test_transactions_commit_roll_back_and_report_errors(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tx.db'}")
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            await session.execute(text("INSERT INTO t (v) VALUES ('kept')"))
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await session.execute(text("INSERT INTO t (v) VALUES ('rolled back')"))
                raise RuntimeError("abort")
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                await session.execute(text("INSERT INTO t (v) VALUES ('kept')"))
        async with sessions() as session:
            values = (await session.execute(text("SELECT v FROM t ORDER BY id"))).scalars()
            assert list(values) == ["kept"]
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar()
            assert mode == "wal"
            temp_store = (await session.execute(text("PRAGMA temp_store"))).scalar()
            assert temp_store == 2  # MEMORY
    finally:
        await engine.dispose()
