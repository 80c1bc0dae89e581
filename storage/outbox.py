"""The outbox: sends waiting to happen, leased so that no two senders take the same row."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, Interval, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import is_postgres, not_indexed, padded
from storage.tables import OutboxRow


def row_values(
    message_id: int,
    conversation_id: int,
    address: dict[str, Any],
    body: dict[str, Any],
    now: datetime,
    status: str = "pending",
) -> dict[str, Any]:
    """A new outbox row's columns: one send, due now."""
    return {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "address": address,
        "body": body,
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def new_row(
    message_id: int,
    conversation_id: int,
    address: dict[str, Any],
    body: dict[str, Any],
    now: datetime,
    status: str = "pending",
) -> OutboxRow:
    return OutboxRow(**row_values(message_id, conversation_id, address, body, now, status))


# On PostgreSQL a lease is dated and checked by the database's clock, not the worker's:
# workers on different hosts disagree about the time, and one whose clock ran ahead of another's
# by more than a lease would take a row that the other is still sending. (SQLite is one
# process, so one clock.) Due times stay on the workers' clocks: a skew there moves a send by
# the skew, it never doubles one.
def _lease_clock(pg: bool) -> ColumnElement[datetime]:
    return func.statement_timestamp() if pg else bindparam("now")


def _lease_end(pg: bool) -> ColumnElement[datetime]:
    """When a lease taken now ends: bind `lease` (a timedelta) on PostgreSQL, else `until`."""
    if pg:
        return func.statement_timestamp() + bindparam("lease", type_=Interval())
    return bindparam("until")


def _due_query(*, of_conversations: bool, pg: bool) -> Select[tuple[int, int]]:
    """The heads of the conversations' queues (each one's first pending row), if due, oldest
    first; of every conversation, or of the conversations bound as `conversations`.

    The heads come from the pending rows alone, read from the index `ix_outbox_heads`: a
    conversation's sent history is never read, so a round costs the same on a year-old
    database as on a new one, and a round for a few conversations costs a few index seeks.
    """
    pending = [OutboxRow.status == "pending"]
    if of_conversations:
        pending.append(OutboxRow.conversation_id.in_(bindparam("conversations", expanding=True)))
    heads = (
        select(func.min(OutboxRow.id).label("id"))
        .where(*pending)
        .group_by(OutboxRow.conversation_id)
        .subquery("heads")
    )
    now = bindparam("now")
    return (
        select(OutboxRow.id, OutboxRow.conversation_id)
        .join(heads, OutboxRow.id == heads.c.id)
        .where(
            # Again out here: PostgreSQL re-checks only this WHERE on a row it locks, and
            # another sender may have finished (sent, held, failed) the head meanwhile.
            OutboxRow.status == "pending",
            OutboxRow.next_attempt_at <= now,
            (OutboxRow.lease_until.is_(None)) | (OutboxRow.lease_until < _lease_clock(pg)),
        )
        .order_by(OutboxRow.id)
        .limit(bindparam("limit", type_=Integer))
    )


# Built once: constructing the statement costs more than running it on every sender round.
# PostgreSQL locks the rows taken (SKIP LOCKED: two senders never wait on one another), not
# the pending rows the heads were computed from.
_DUE = {
    (of, pg): query.with_for_update(skip_locked=True, of=OutboxRow) if pg else query
    for of in (False, True)
    for pg in (False, True)
    for query in [_due_query(of_conversations=of, pg=pg)]
}
_OUTBOX = OutboxRow.__table__


@dataclass(slots=True)
class LeasedRow:
    """An outbox row a sender holds: what it needs to send it (plain data, no ORM object)."""

    id: int
    message_id: int
    conversation_id: int
    address: dict[str, Any]
    body: dict[str, Any]
    status: str
    attempts: int
    last_error: str
    created_at: datetime


# Bound parameters are not named after columns (SQLAlchemy keeps those names for itself).
_LEASE = {
    pg: update(_OUTBOX)
    .where(
        _OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
        not_indexed(_OUTBOX.c.status) == "pending",  # a second guard: only rows still waiting
        (_OUTBOX.c.lease_until.is_(None)) | (_OUTBOX.c.lease_until < _lease_clock(pg)),
    )
    .values(lease_owner=bindparam("owner"), lease_until=_lease_end(pg))
    .returning(*(_OUTBOX.c[f.name] for f in fields(LeasedRow)))
    for pg in (False, True)
}


class Head(NamedTuple):
    id: int
    conversation_id: int


async def due_heads(
    session: AsyncSession, now: datetime, limit: int, conversations: Collection[int] | None = None
) -> list[Head]:
    """The due heads of the queues, oldest first: of all conversations, or of `conversations`.

    On PostgreSQL the rows returned stay locked until the transaction ends.
    """
    if conversations is not None and not conversations:
        return []
    params: dict[str, Any] = {"now": now, "limit": limit}
    if conversations is not None:
        params["conversations"] = padded(conversations)
    query = _DUE[conversations is not None, is_postgres(session)]
    return [Head(*row) for row in await session.execute(query, params)]


async def lease_heads(
    session: AsyncSession,
    now: datetime,
    owner: str,
    seconds: float,
    *,
    take: int,
    read: int,
    conversations: Collection[int] | None = None,
) -> tuple[list[Head], list[LeasedRow]]:
    """A sender's round: read up to `read` due heads (as `due_heads`), lease the oldest `take`
    of them to `owner` for `seconds`. Returns the heads read and the rows leased.

    On PostgreSQL this is one statement (the heads locked SKIP LOCKED, then updated), which
    needs no transaction around it: a round costs one round trip instead of four.
    """
    if conversations is not None and not conversations:
        return [], []
    if not is_postgres(session):
        heads = await due_heads(session, now, read, conversations)
        return heads, await lease(session, [h.id for h in heads[:take]], owner, now, seconds)
    params: dict[str, Any] = {
        "now": now,
        "limit": read,
        "take": take,
        "owner": owner,
        "lease": timedelta(seconds=seconds),
    }
    if conversations is not None:
        params["conversations"] = padded(conversations)
    heads: list[Head] = []
    leased: list[LeasedRow] = []
    for row in await session.execute(_LEASE_HEADS[conversations is not None], params):
        heads.append(Head(row.head_id, row.head_conversation_id))
        if row.id is not None:
            leased.append(LeasedRow(*row[2:]))
    return heads, leased


def _lease_heads_query(*, of_conversations: bool) -> Select[Any]:
    heads = _DUE[of_conversations, True].cte("due")
    oldest = select(heads.c.id).order_by(heads.c.id).limit(bindparam("take", type_=Integer))
    leased = (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(oldest.scalar_subquery()))
        .values(lease_owner=bindparam("owner"), lease_until=_lease_end(pg=True))
        .returning(*(_OUTBOX.c[f.name] for f in fields(LeasedRow)))
        .cte("leased")
    )
    return (
        select(
            heads.c.id.label("head_id"),
            heads.c.conversation_id.label("head_conversation_id"),
            *(leased.c[f.name] for f in fields(LeasedRow)),
        )
        .select_from(heads.outerjoin(leased, leased.c.id == heads.c.id))
        .order_by(heads.c.id)
    )


_LEASE_HEADS = {of: _lease_heads_query(of_conversations=of) for of in (False, True)}


async def lease(
    session: AsyncSession, ids: list[int], owner: str, now: datetime, lease: float
) -> list[LeasedRow]:
    """Lease the rows `ids` to `owner` for `lease` seconds (those still pending and free)."""
    if not ids:
        return []
    params: dict[str, Any] = {"ids": padded(ids), "owner": owner}
    if pg := is_postgres(session):
        params["lease"] = timedelta(seconds=lease)
    else:
        params |= {"until": now + timedelta(seconds=lease), "now": now}
    rows = await session.execute(_LEASE[pg], params)
    return sorted((LeasedRow(*row) for row in rows), key=lambda r: r.id)


_FINISH = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        lease_owner=None,
        lease_until=None,
        last_error=bindparam("error"),
    )
)
_RETRY_LATER = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        attempts=_OUTBOX.c.attempts + 1,
        next_attempt_at=bindparam("at"),
        lease_owner=None,
        lease_until=None,
        last_error=bindparam("error"),
    )
)


async def finish(session: AsyncSession, row_id: int, status: str, error: str = "") -> None:
    await session.execute(_FINISH, {"row_id": row_id, "new_status": status, "error": error})


async def finish_many(session: AsyncSession, row_ids: list[int], status: str) -> None:
    """`finish` for many rows in one statement (executemany)."""
    if row_ids:
        await session.execute(
            _FINISH, [{"row_id": i, "new_status": status, "error": ""} for i in row_ids]
        )


async def retry_later(session: AsyncSession, row_id: int, at: datetime, error: str) -> None:
    await session.execute(_RETRY_LATER, {"row_id": row_id, "at": at, "error": error})


async def depth(session: AsyncSession, now: datetime) -> tuple[int, float]:
    """(pending rows, age in seconds of the oldest) for metrics."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(
                OutboxRow.status == "pending"
            )
        )
    ).one()
    if not oldest:
        return int(count), 0.0
    if isinstance(oldest, str):  # SQLite aggregate skips the column type
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
    elif oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return int(count), max(0.0, (now - oldest).total_seconds())


async def release_held(
    session: AsyncSession, customer_id: int, channel: str, now: datetime
) -> list[int]:
    """The customer wrote again on `channel`: messages held for its closed window may go."""
    from storage.tables import MessageRow

    held = select(MessageRow.id).where(
        MessageRow.customer_id == customer_id, MessageRow.channel == channel
    )
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.status == "held", OutboxRow.message_id.in_(held))
        .values(status="pending", next_attempt_at=now, last_error="")
        .returning(OutboxRow.message_id)
    )
    message_ids = list(result.scalars())
    if message_ids:
        await session.execute(
            update(MessageRow)
            .where(MessageRow.id.in_(message_ids))
            .values(delivery_status="pending", error_code="", error_message="", updated_at=now)
        )
    return message_ids


async def reopen_for_window(session: AsyncSession, message_id: int, marker: str) -> bool:
    """A provider failed a sent message for the closed window: plan its delivery again."""
    from storage.tables import MessageRow

    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.message_id == message_id, OutboxRow.status == "sent")
        .values(status="pending", last_error=marker, lease_owner=None, lease_until=None)
        .returning(OutboxRow.id)
    )
    if result.scalar() is None:
        return False
    await session.execute(
        update(MessageRow).where(MessageRow.id == message_id).values(delivery_status="pending")
    )
    return True
