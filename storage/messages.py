"""The append-only transcript, and the inbound rows' turn status (the conversation inbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import is_postgres, padded
from storage.tables import MessageRow

_MESSAGES = MessageRow.__table__
# Core statements built once; parameters come per call (far cheaper than ORM construction).
_INSERT_ONCE = {
    name: dialect.insert(_MESSAGES).on_conflict_do_nothing().returning(_MESSAGES.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_MANY = {
    name: dialect.insert(_MESSAGES)
    .on_conflict_do_nothing()
    .returning(_MESSAGES.c.id, _MESSAGES.c.channel, _MESSAGES.c.provider_message_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_BY_PROVIDER_IDS = select(MessageRow.id, MessageRow.provider_message_id).where(
    MessageRow.channel == bindparam("channel"),
    MessageRow.provider_message_id.in_(bindparam("provider_message_ids", expanding=True)),
)
_BY_PROVIDER_ID = select(MessageRow.id).where(
    MessageRow.channel == bindparam("channel"),
    MessageRow.provider_message_id == bindparam("provider_message_id"),
)


async def insert_inbound(session: AsyncSession, values: dict[str, Any]) -> tuple[int, bool]:
    """Store a customer's message once: returns (id, duplicate)."""
    stmt = _INSERT_ONCE["postgresql" if is_postgres(session) else "sqlite"]
    new_id = (await session.execute(stmt, values)).scalar()
    if new_id is not None:
        return new_id, False
    existing = await session.scalar(
        _BY_PROVIDER_ID,
        {"channel": values["channel"], "provider_message_id": values["provider_message_id"]},
    )
    assert existing is not None
    return existing, True


async def insert_inbound_many(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> list[tuple[int, bool]]:
    """`insert_inbound` for many messages in one statement: (id, duplicate) for each row.

    The new rows get their ids in list order (one multi-row INSERT), so the order of a
    conversation's messages is the order of the list. A provider id seen twice in the list
    is stored once: the first is new, the others are duplicates of it.
    """
    if not rows:
        return []
    keys = [(row["channel"], row["provider_message_id"]) for row in rows]
    if not all(pmid for _, pmid in keys):  # no key to tell rows apart: one at a time
        return [await insert_inbound(session, row) for row in rows]
    stmt = _INSERT_MANY["postgresql" if is_postgres(session) else "sqlite"]
    # Several parameter sets with RETURNING: SQLAlchemy renders one multi-row INSERT
    # ("insertmanyvalues"); rows skipped by ON CONFLICT return nothing.
    new = {(r.channel, r.provider_message_id): r.id for r in await session.execute(stmt, rows)}
    existing: dict[tuple[str, str], int] = {}
    for channel in sorted({channel for channel, _ in set(keys) - set(new)}):
        pmids = sorted({pmid for c, pmid in keys if c == channel and (c, pmid) not in new})
        found = await session.execute(
            _BY_PROVIDER_IDS, {"channel": channel, "provider_message_ids": padded(pmids)}
        )
        existing.update(((channel, pmid), mid) for mid, pmid in found)
    stored: list[tuple[int, bool]] = []
    for key in keys:
        if key in new:
            stored.append((new.pop(key), False))
            existing[key] = stored[-1][0]  # a later row with this key is its duplicate
        else:
            stored.append((existing[key], True))
    return stored


async def insert_outbound(session: AsyncSession, values: dict[str, Any]) -> MessageRow:
    row = MessageRow(**values)
    session.add(row)
    await session.flush()
    return row


async def pending_conversations(session: AsyncSession, limit: int = 1000) -> list[int]:
    rows = await session.scalars(
        select(MessageRow.conversation_id)
        .where(MessageRow.turn_status == "pending")
        .group_by(MessageRow.conversation_id)
        .order_by(MessageRow.conversation_id)
        .limit(limit)
    )
    return list(rows)


async def transcript(
    session: AsyncSession, customer_id: int, limit: int = 50, include_notes: bool = True
) -> list[MessageRow]:
    """The customer's latest messages across channels and conversations, oldest first."""
    query = _TRANSCRIPT if include_notes else _TRANSCRIPT_NO_NOTES
    rows = await session.scalars(query, {"cid": customer_id, "limit": limit})
    return list(reversed(list(rows)))


_TRANSCRIPT = (
    select(MessageRow)
    .where(MessageRow.customer_id == bindparam("cid"))
    .order_by(MessageRow.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_TRANSCRIPT_NO_NOTES = _TRANSCRIPT.where(MessageRow.note.is_(False))


async def messages_of_customer(
    session: AsyncSession, customer_id: int, after_id: int = 0, limit: int = 500
) -> list[MessageRow]:
    rows = await session.scalars(
        select(MessageRow)
        .where(MessageRow.customer_id == customer_id, MessageRow.id > after_id)
        .order_by(MessageRow.id)
        .limit(limit)
    )
    return list(rows)


async def apply_status(
    session: AsyncSession,
    channel: str,
    provider_message_id: str,
    status: str,
    rank: dict[str, int],
    *,
    error_code: str = "",
    error_message: str = "",
    now: datetime,
) -> int | None:
    """Move an outbound message forward to `status`; never back (callbacks come out of order).

    Returns the message id when it changed, None when unknown or already further along.
    """
    new_rank = rank.get(status)
    if new_rank is None:
        return None
    current_rank = case(
        *((MessageRow.delivery_status == name, value) for name, value in rank.items()),
        else_=-1,
    )
    values: dict[str, Any] = {"delivery_status": status, "updated_at": now}
    if error_code or error_message:
        values.update(error_code=error_code, error_message=error_message)
    result = await session.execute(
        update(MessageRow)
        .where(
            and_(
                MessageRow.channel == channel,
                MessageRow.provider_message_id == provider_message_id,
                current_rank < new_rank,
            )
        )
        .values(**values)
        .returning(MessageRow.id)
    )
    return result.scalar()


# --- The outbox sender's statements (bot/sender.py) --------------------------------------
# Core statements against the table, built once; the sender runs them for every message sent.

_OWNERS = select(_MESSAGES.c.id, _MESSAGES.c.customer_id).where(
    _MESSAGES.c.id.in_(bindparam("ids", expanding=True))
)
_PAYLOADS = select(_MESSAGES.c.id, _MESSAGES.c.payload).where(
    _MESSAGES.c.id.in_(bindparam("ids", expanding=True))
)
_SET_PAYLOAD = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("mid"))
    .values(payload=bindparam("new_payload"))
)


async def customers_of(session: AsyncSession, message_ids: list[int]) -> dict[int, int]:
    """message id -> its customer, for the messages that exist."""
    rows = await session.execute(_OWNERS, {"ids": padded(message_ids)})
    return {row.id: row.customer_id for row in rows}


async def payloads(session: AsyncSession, message_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = await session.execute(_PAYLOADS, {"ids": padded(message_ids)})
    return {row.id: row.payload or {} for row in rows}


async def set_payloads(session: AsyncSession, values: dict[int, dict[str, Any]]) -> None:
    if values:
        await session.execute(
            _SET_PAYLOAD, [{"mid": mid, "new_payload": payload} for mid, payload in values.items()]
        )


def sent_statement(rank: dict[str, int]) -> Any:
    """The UPDATE recording that a provider took an outbound message (build it once).

    Parameters: `mid`, `provider_id`, `now`, `segments` (None keeps the stored value),
    `new_status` and `new_rank`. The status only moves forward: a status callback may already
    have taken the message further than the send's answer.
    """
    from sqlalchemy import func, literal_column

    # Constants inlined in the SQL: fewer parameters to bind on every execution.
    assert all(name.isidentifier() for name in rank)
    current_rank = case(
        *(
            (_MESSAGES.c.delivery_status == literal_column(f"'{name}'"), literal_column(str(value)))
            for name, value in rank.items()
        ),
        else_=literal_column("-1"),
    )
    return (
        update(_MESSAGES)
        .where(_MESSAGES.c.id == bindparam("mid"))
        .values(
            provider_message_id=bindparam("provider_id"),
            updated_at=bindparam("now"),
            segments=func.coalesce(bindparam("segments", type_=Integer), _MESSAGES.c.segments),
            delivery_status=case(
                (
                    current_rank < bindparam("new_rank", type_=Integer),
                    bindparam("new_status", type_=_MESSAGES.c.delivery_status.type),
                ),
                else_=_MESSAGES.c.delivery_status,
            ),
        )
    )
