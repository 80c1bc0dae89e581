"""Conversation reads and changes of the human hand-off: the queue, assignments, CSAT."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ConversationRow, CustomerRow, MessageRow


async def lock_for_change(session: AsyncSession, conversation_id: int) -> ConversationRow | None:
    """The conversation, write-locked for the rest of the transaction.

    Starting with a write takes the lock on both backends (PostgreSQL: the row; SQLite: the
    database, which begins its transaction only at the first write), so the state read next
    cannot change under us before we commit.
    """
    result = await session.execute(
        update(ConversationRow)
        .where(ConversationRow.id == conversation_id)
        .values(state=ConversationRow.state)  # a write that changes nothing
    )
    if result.rowcount != 1:
        return None
    return await session.scalar(
        select(ConversationRow)
        .where(ConversationRow.id == conversation_id)
        .execution_options(populate_existing=True)
    )


async def list_conversations(
    session: AsyncSession,
    *,
    state: str | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    team: str | None = None,
    customer_id: int | None = None,
    limit: int = 100,
) -> list[ConversationRow]:
    """Newest activity first; the queue oldest-waiting first (the order it is served in)."""
    query = select(ConversationRow)
    if state:
        query = query.where(ConversationRow.state == state)
    if assignee_id is not None:
        query = query.where(ConversationRow.assignee_id == assignee_id)
    if unassigned:
        query = query.where(ConversationRow.assignee_id.is_(None))
    if team is not None:
        query = query.where(ConversationRow.team == team)
    if customer_id is not None:
        query = query.where(ConversationRow.customer_id == customer_id)
    if state == "queued":
        query = query.order_by(ConversationRow.queued_at, ConversationRow.id)
    else:
        query = query.order_by(ConversationRow.updated_at.desc(), ConversationRow.id.desc())
    return list(await session.scalars(query.limit(limit)))


async def waiting(session: AsyncSession, limit: int = 50) -> list[tuple[int, str]]:
    """(id, team) of queued conversations, longest waiting first."""
    rows = await session.execute(
        select(ConversationRow.id, ConversationRow.team)
        .where(ConversationRow.state == "queued")
        .order_by(ConversationRow.queued_at, ConversationRow.id)
        .limit(limit)
    )
    return [(int(cid), team) for cid, team in rows]


async def count_queued(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count(ConversationRow.id)).where(ConversationRow.state == "queued")
        )
        or 0
    )


async def unclaimed_since(session: AsyncSession, cutoff: datetime, limit: int = 100) -> list[int]:
    """Queued conversations nobody claimed since `cutoff` and nobody acted on yet."""
    rows = await session.scalars(
        select(ConversationRow.id)
        .where(
            ConversationRow.state == "queued",
            ConversationRow.queued_at <= cutoff,
            ConversationRow.queue_timeout_at.is_(None),
        )
        .order_by(ConversationRow.queued_at)
        .limit(limit)
    )
    return list(rows)


async def take_timeout(
    session: AsyncSession, conversation_id: int, cutoff: datetime, values: dict[str, Any]
) -> bool:
    """Mark an unclaimed queue entry as handled; only one worker's UPDATE matches."""
    result = await session.execute(
        update(ConversationRow)
        .where(
            ConversationRow.id == conversation_id,
            ConversationRow.state == "queued",
            ConversationRow.queued_at <= cutoff,
            ConversationRow.queue_timeout_at.is_(None),
        )
        .values(**values)
    )
    return result.rowcount == 1


async def conversations_of_customer(
    session: AsyncSession, customer_id: int, limit: int = 20
) -> list[ConversationRow]:
    rows = await session.scalars(
        select(ConversationRow)
        .where(ConversationRow.customer_id == customer_id)
        .order_by(ConversationRow.id.desc())
        .limit(limit)
    )
    return list(rows)


async def rating_awaited(
    session: AsyncSession, customer_id: int, since: datetime
) -> ConversationRow | None:
    """The customer's latest closed conversation still waiting for its CSAT answer."""
    return await session.scalar(
        select(ConversationRow)
        .where(
            ConversationRow.customer_id == customer_id,
            ConversationRow.state == "closed",
            ConversationRow.csat_asked_at >= since,
            ConversationRow.csat_score.is_(None),
        )
        .order_by(ConversationRow.id.desc())
        .limit(1)
    )


async def store_rating(
    session: AsyncSession, conversation_id: int, score: int, comment: str
) -> bool:
    result = await session.execute(
        update(ConversationRow)
        .where(ConversationRow.id == conversation_id, ConversationRow.csat_score.is_(None))
        .values(csat_score=score, csat_comment=comment)
    )
    return result.rowcount == 1


# -- messages of one conversation ----------------------------------------------------------


async def last_inbound(session: AsyncSession, conversation_id: int) -> MessageRow | None:
    """The customer's latest message in the conversation: where they are now."""
    return await session.scalar(
        select(MessageRow)
        .where(
            MessageRow.conversation_id == conversation_id,
            MessageRow.direction == "in",
            MessageRow.address.is_not(None),
        )
        .order_by(MessageRow.id.desc())
        .limit(1)
    )


async def earlier_inbound_exists(session: AsyncSession, conversation_id: int, before: int) -> bool:
    found = await session.scalar(
        select(MessageRow.id)
        .where(
            MessageRow.conversation_id == conversation_id,
            MessageRow.direction == "in",
            MessageRow.id < before,
        )
        .limit(1)
    )
    return found is not None


async def messages_of_conversation(
    session: AsyncSession, conversation_id: int, after_id: int = 0, limit: int = 500
) -> list[MessageRow]:
    rows = await session.scalars(
        select(MessageRow)
        .where(MessageRow.conversation_id == conversation_id, MessageRow.id > after_id)
        .order_by(MessageRow.id)
        .limit(limit)
    )
    return list(rows)


async def last_messages(
    session: AsyncSession, conversation_ids: list[int]
) -> dict[int, MessageRow]:
    """The latest message a person sees in each conversation (system entries left out)."""
    if not conversation_ids:
        return {}
    latest = (
        select(func.max(MessageRow.id))
        .where(MessageRow.conversation_id.in_(conversation_ids), MessageRow.sender != "system")
        .group_by(MessageRow.conversation_id)
    )
    rows = await session.scalars(select(MessageRow).where(MessageRow.id.in_(latest)))
    return {row.conversation_id: row for row in rows}


async def customers_by_id(session: AsyncSession, ids: list[int]) -> dict[int, CustomerRow]:
    rows = await session.scalars(select(CustomerRow).where(CustomerRow.id.in_(set(ids))))
    return {row.id: row for row in rows}
