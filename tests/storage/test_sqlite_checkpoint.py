"""WAL checkpoints: a thread copies pages back (storage/sqlite_checkpoint.py), the loop's own
commits only past LOOP_CHECKPOINT_FRAMES, which keeps the WAL bounded."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine, session_factory, sqlite_file
from storage.sqlite_checkpoint import LOOP_CHECKPOINT_FRAMES, WalCheckpointer

PAYLOAD = "x" * 2000  # two rows to a 4 KB page
BATCH = 500  # rows per transaction, ~250 pages


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


def wal_bytes(database: Path) -> int:
    return Path(f"{database}-wal").stat().st_size


async def serving_engine(database: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite:///{database}", background_checkpoints=True)
    assert sqlite_file(engine) == str(database)
    async with session_factory(engine)() as session, session.begin():
        pragma = await session.execute(text("PRAGMA wal_autocheckpoint"))
        assert pragma.scalar() == LOOP_CHECKPOINT_FRAMES
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    return engine


async def insert(engine: AsyncEngine, rows: int) -> None:
    sessions = session_factory(engine)
    for _ in range(rows // BATCH):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": PAYLOAD}] * BATCH)


async def test_the_thread_copies_what_the_loop_commits(tmp_path: Path) -> None:
    database = tmp_path / "copied.db"
    engine = await serving_engine(database)
    try:
        rows = 3000  # ~1,500 pages: past SQLite's default of 1,000, short of ours
        await insert(engine, rows)
        # The engine stays open (closing the last connection would checkpoint by itself).
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
        assert rows_in_database_file(database, tmp_path) == rows

        # The loop's writer goes on while the thread checkpoints, and nothing is lost.
        checkpointer = WalCheckpointer(str(database), interval=0.001)
        checkpointer.start()
        try:
            for _ in range(6):
                await insert(engine, BATCH)
                await asyncio.sleep(0.01)
        finally:
            checkpointer.stop()
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar()
        assert count == rows + 6 * BATCH
    finally:
        await engine.dispose()


async def test_the_loop_keeps_the_wal_bounded_by_itself(tmp_path: Path) -> None:
    """Even with no thread copying, commits past LOOP_CHECKPOINT_FRAMES checkpoint and the
    WAL starts over instead of growing."""
    database = tmp_path / "bounded.db"
    engine = await serving_engine(database)
    try:
        rows = 6 * LOOP_CHECKPOINT_FRAMES  # ~3 × the limit in pages
        await insert(engine, rows)
        assert rows_in_database_file(database, tmp_path) > 0
        page_frame = 4096 + 24
        assert wal_bytes(database) < 2 * LOOP_CHECKPOINT_FRAMES * page_frame
    finally:
        await engine.dispose()


def test_a_postgresql_engine_has_no_file_to_checkpoint() -> None:
    assert sqlite_file(create_engine("postgresql://postgres@127.0.0.1:5432/test")) is None
