"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's backend."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def padded(values: Iterable[T]) -> list[T]:
    """An IN list padded to the next power of two by repeating its last value.

    SQLAlchemy renders an expanding IN with one placeholder per value, so every list length is
    another SQL text. PostgreSQL (asyncpg) prepares each text once per connection and keeps a
    bounded cache of them: lengths 1..256 would thrash it and prepare on almost every call.
    Padded, a statement has at most nine texts. Repeated values change nothing in an IN.
    """
    items = list(values)
    if len(items) > 1:
        size = 1 << (len(items) - 1).bit_length()
        items.extend([items[-1]] * (size - len(items)))
    return items
