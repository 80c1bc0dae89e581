"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

T = TypeVar("T")


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's backend."""
    return insert_ignoring_conflicts_on(is_postgres(session), table)


def insert_ignoring_conflicts_on(postgres: bool, table: Any) -> Any:
    """The same for a backend named up front: for statements built once, per backend."""
    insert = postgresql.insert if postgres else sqlite.insert
    return insert(table).on_conflict_do_nothing()


class not_indexed(ColumnElement[Any]):  # lower case: it reads like a SQL function
    """A column SQLite's planner must not look it up by (rendered `+column` there, the
    column itself elsewhere).

    Without statistics, SQLite prefers an index on an equality (`status = 'pending'`) to the
    primary key of an IN list (`id IN (...)`) as soon as the list has a few items: the
    statement then walks every pending row (a burst's whole backlog) to change a handful.
    PostgreSQL plans from statistics and gets this right by itself.
    """

    inherit_cache = True
    _traverse_internals: ClassVar[list[tuple[str, Any]]] = [
        ("column", InternalTraversal.dp_clauseelement)
    ]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type

    @property
    def _from_objects(self) -> list[Any]:  # the column's table stays in the FROM list
        return self.column._from_objects


@compiles(not_indexed)
def _plain_column(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(not_indexed, "sqlite")
def _unindexed_column(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


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
