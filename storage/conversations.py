"""Conversations: one open thread per customer, across channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignoring_conflicts, is_postgres, padded
from storage.tables import ConversationRow

OPEN_STATES = ("bot", "queued", "agent")


async def open_conversation(
    session: AsyncSession, customer_id: int, now: datetime
) -> ConversationRow:
    """The customer's open conversation, started (with the bot) if there is none."""
    found = await find_open(session, customer_id)
    if found is not None:
        return found
    return await _start_conversation(session, customer_id, now)


async def open_conversations(
    session: AsyncSession, customer_ids: list[int], now: datetime
) -> dict[int, ConversationRow]:
    """`open_conversation` for many customers: one SELECT, then a start for each without."""
    if not customer_ids:
        return {}
    found = {
        row.customer_id: row
        for row in await session.scalars(_FIND_OPEN_MANY, {"cids": padded(customer_ids)})
    }
    for customer_id in customer_ids:
        if customer_id not in found:
            found[customer_id] = await _start_conversation(session, customer_id, now)
    return found


async def _start_conversation(
    session: AsyncSession, customer_id: int, now: datetime
) -> ConversationRow:
    # The partial unique index lets only one open conversation exist per customer.
    await session.execute(
        insert_ignoring_conflicts(session, ConversationRow).values(
            customer_id=customer_id,
            state="bot",
            handoff_reason="",
            team="",
            dialog={},
            last_inbound={},
            last_channel="",
            created_at=now,
            updated_at=now,
        )
    )
    found = await find_open(session, customer_id)
    assert found is not None
    return found


_FIND_OPEN = select(ConversationRow).where(
    ConversationRow.customer_id == bindparam("cid"), ConversationRow.state.in_(OPEN_STATES)
)


_FIND_OPEN_MANY = select(ConversationRow).where(
    ConversationRow.customer_id.in_(bindparam("cids", expanding=True)),
    ConversationRow.state.in_(OPEN_STATES),
)


async def find_open(session: AsyncSession, customer_id: int) -> ConversationRow | None:
    return await session.scalar(_FIND_OPEN, {"cid": customer_id})


async def lock_conversation(session: AsyncSession, conversation_id: int) -> ConversationRow | None:
    """Read a conversation for update (row lock on PostgreSQL; SQLite has one writer)."""
    query = select(ConversationRow).where(ConversationRow.id == conversation_id)
    if is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar()


def touch_inbound(conversation: ConversationRow, channel: str, now: datetime) -> None:
    last: dict[str, Any] = dict(conversation.last_inbound or {})
    last[channel] = now.isoformat()
    conversation.last_inbound = last
    conversation.last_channel = channel
    conversation.updated_at = now
