"""Engine and sessions for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:  # imported where used: a PostgreSQL worker never loads sqlite3 (~1 MB)
    from storage.sqlite_inloop import InLoopConnection


def normalize_url(url: str) -> str:
    """Accept the plain driver-less URLs people copy from docs and pick the async driver."""
    for plain, async_ in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson refuses and json takes: integers past 64 bits
        return json.dumps(value, ensure_ascii=False)


def _json_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity, as the json module wrote them before
        return json.loads(text)


def create_engine(url: str, *, background_checkpoints: bool = False, **kwargs: Any) -> AsyncEngine:
    """`background_checkpoints`: SQLite leaves WAL checkpoints to a `WalCheckpointer` the
    caller runs (see sqlite_file()); ignored on PostgreSQL."""
    url = normalize_url(url)
    # JSON columns (dialog state, addresses, outbox bodies, payloads) are encoded and decoded
    # on every turn and send: with the standard json module that was 4 % of a SQLite
    # gateway's CPU under load; orjson does it 5-12 times faster. Non-ASCII is kept as UTF-8
    # instead of \u escapes; both read back the same.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", _json_loads)
    if url.startswith("sqlite"):
        # One connection: SQLite has one writer anyway, and waiting for the connection in
        # asyncio is far cheaper than SQLite's busy handler sleeping on a locked database.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 120)
        kwargs.setdefault("async_creator", _in_loop_creator(url))
        engine = create_async_engine(url, **kwargs)
        _tune_sqlite(engine, background_checkpoints=background_checkpoints)
        return engine
    # Batching keeps few transactions open at once (ingest, turn reads and turn writes have
    # OMNIGATE_DB_WRITERS writers each, plus the sender, its rounds and the API; overflow covers
    # peaks). A smaller pool keeps a worker's memory down: peak 104-112 MB against 114-118 MB
    # with 20, same throughput (measured with 4 writers each).
    kwargs.setdefault("pool_size", 8)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping (a round trip per checkout); dead connections are replaced on error and
    # recycled before server-side idle timeouts.
    kwargs.setdefault("pool_recycle", 1800)
    # asyncpg prepares each SQL text once per connection; keep all of ours (see padded()).
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("prepared_statement_cache_size", 1000)
    return create_async_engine(url, **kwargs)


def _in_loop_creator(url: str) -> Callable[[], Awaitable[InLoopConnection]]:
    """Statements run on the loop's thread (see storage/sqlite_inloop.py for why)."""
    from storage.sqlite_inloop import InLoopConnection

    database = make_url(url).database or ":memory:"

    async def connect() -> InLoopConnection:
        return await InLoopConnection.connect(database)

    return connect


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The database file of a SQLite engine; None for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return None if not database or database == ":memory:" else database


def _tune_sqlite(engine: AsyncEngine, *, background_checkpoints: bool) -> None:
    from storage.sqlite_inloop import BUSY_TIMEOUT_MS

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the single writer; NORMAL is durable across app crashes
        # (only an OS crash can lose the last transactions), busy_timeout waits for the lock.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Statement journals and sorts in memory: on disk each was a temp file created,
        # written and unlinked (about 15 a second under load), for data of a few pages.
        cursor.execute("PRAGMA temp_store=MEMORY")
        if background_checkpoints:  # storage/sqlite_checkpoint.py copies most pages off the loop
            from storage.sqlite_checkpoint import LOOP_CHECKPOINT_FRAMES

            cursor.execute(f"PRAGMA wal_autocheckpoint={LOOP_CHECKPOINT_FRAMES}")
        cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for batches of plain reads, and for statements that each stand alone (a
    sender's lease round). On PostgreSQL they run outside a transaction: under READ
    COMMITTED every statement takes its own snapshot anyway, and BEGIN and COMMIT would be
    two more round trips. SQLite keeps its (in-process, nearly free) transactions."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return session_factory(engine)
