"""SQLite on the event loop's own thread, behind the aiosqlite interface SQLAlchemy drives.

aiosqlite runs every statement on a helper thread: a queue put, a thread wake-up, a future and
a loop wake-up per call. A statement on an indexed WAL database takes a few microseconds, so
that hop cost ~10x the statement itself (measured: ~550 µs of CPU per trivial statement through
aiosqlite, ~50 µs in the loop). SQLite is embedded and has one writer per database anyway, so
we run it where the caller already is: the coroutines below never suspend.

What this gives up: a slow statement or a checkpoint's fsync blocks the loop for its
duration (milliseconds on the data sizes of an embedded deployment), and a write that finds
the database locked by *another process* waits in SQLite's busy handler on the loop thread
(see `BUSY_TIMEOUT_MS`). The embedded default is one process, so that wait does not happen
in normal operation; scale-out uses PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# Kept short: the loop is blocked while SQLite waits for another process's write lock.
BUSY_TIMEOUT_MS = 2000


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's isolation-level setter uses
    directly: run the function now and resolve its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # delivered to the awaiting caller
            future.set_exception(exc)


class InLoopCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InLoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InLoopCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InLoopCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InLoopConnection:
    """The subset of `aiosqlite.Connection` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # aiosqlite's "open" marker
        self._tx = _ImmediateQueue()

    @classmethod
    async def connect(cls, database: str) -> InLoopConnection:
        connection = sqlite3.connect(
            database, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        return cls(connection)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InLoopCursor:
        return InLoopCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InLoopCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        """aiosqlite's forced close (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()
