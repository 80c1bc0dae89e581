"""Throwaway databases for one benchmark run: a SQLite file, or a PostgreSQL database; and a
Redis key prefix of the run's own, its keys deleted afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class Unreachable(Exception):
    """The database server cannot be used; the backend is skipped."""


@dataclass(frozen=True, slots=True)
class Database:
    url: str  # what the gateway gets as OMNIGATE_DATABASE_URL
    version: str  # the database engine's version, for the report


@asynccontextmanager
async def sqlite_database(directory: Path) -> AsyncIterator[Database]:
    import sqlite3

    yield Database(
        f"sqlite+aiosqlite:///{directory}/omnigate-bench.db", f"SQLite {sqlite3.sqlite_version}"
    )


async def _admin(url: str) -> asyncpg.Connection:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[Database]:
    """A new database `omnigate_bench_<random>` on the server of `admin_url`, dropped after."""
    name = f"omnigate_bench_{secrets.token_hex(6)}"
    admin = await _admin(admin_url)
    try:
        version = str(await admin.fetchval("SHOW server_version"))
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        yield Database(url, f"PostgreSQL {version}")
    finally:
        admin = await _admin(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def redis_prefix(url: str) -> AsyncIterator[str]:
    """A key prefix `omnigate-bench-<random>:` on the Redis at `url`; its keys deleted after.

    Yields the prefix (OMNIGATE_REDIS_PREFIX); Unreachable when Redis does not answer PING.
    """
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    prefix = f"omnigate-bench-{secrets.token_hex(6)}:"
    admin = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        try:
            await admin.ping()
        except (OSError, RedisError) as exc:
            raise Unreachable(f"Redis at {url}: {type(exc).__name__}: {exc}") from exc
        try:
            yield prefix
        finally:
            keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
            for start in range(0, len(keys), 1000):
                await admin.delete(*keys[start : start + 1000])
    finally:
        await admin.aclose()
