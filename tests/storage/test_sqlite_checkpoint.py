"""WAL checkpoints run on their own thread (storage/sqlite_checkpoint.py), not in commits."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage.database import create_engine, session_factory, sqlite_file
from storage.sqlite_checkpoint import WalCheckpointer

ROWS = 3000
PAYLOAD = "x" * 2000  # ROWS rows take ~1,500 pages, past the default autocheckpoint (1,000)


def rows_in_database_file(database: Path, tmp_path: Path) -> int:
    """Rows readable from the main database file alone, without its WAL: what checkpoints
    have copied back."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'")
        if tables.fetchone()[0] == 0:
            return 0
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        connection.close()


async def test_commits_leave_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    database = tmp_path / "quiet.db"
    engine = create_engine(f"sqlite:///{database}", background_checkpoints=True)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            assert (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        for _ in range(ROWS // 500):
            async with sessions() as session, session.begin():
                await session.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": PAYLOAD}] * 500)
        # Past 1,000 pages, an automatic checkpoint would have copied the table back.
        assert rows_in_database_file(database, tmp_path) == 0

        checkpointer = WalCheckpointer(str(database), interval=0.02)
        checkpointer.start()
        try:
            for _ in range(250):
                if checkpointer.checkpoints:
                    break
                await asyncio.sleep(0.02)
        finally:
            checkpointer.stop()
        assert checkpointer.checkpoints >= 1
        assert rows_in_database_file(database, tmp_path) == ROWS

        # The loop's writer goes on while the thread checkpoints, and nothing is lost.
        checkpointer = WalCheckpointer(str(database), interval=0.001)
        checkpointer.start()
        try:
            for _ in range(ROWS // 500):
                async with sessions() as session, session.begin():
                    await session.execute(
                        text("INSERT INTO t (v) VALUES (:v)"), [{"v": PAYLOAD}] * 500
                    )
                await asyncio.sleep(0.01)
        finally:
            checkpointer.stop()
        async with sessions() as session:
            count = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
        assert count == 2 * ROWS
    finally:
        await engine.dispose()


def test_a_postgresql_engine_has_no_file_to_checkpoint() -> None:
    assert sqlite_file(create_engine("postgresql://postgres@127.0.0.1:5432/test")) is None
