"""Slack threads of handed-off conversations, and Slack users linked to agents.

One row per conversation (`slack_threads`): inserting it reserves the right to open the
thread (one worker posts, whatever the number of workers); the posted message's ts then
names the thread both ways (conversation -> thread to mirror, thread -> conversation for
agents' replies).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignoring_conflicts
from storage.tables import AgentRow, ConversationRow, MessageRow, SlackThreadRow

OPEN_STATES = ("queued", "agent")


async def thread_of(session: AsyncSession, conversation_id: int) -> SlackThreadRow | None:
    return await session.get(SlackThreadRow, conversation_id, populate_existing=True)


async def conversation_of(session: AsyncSession, channel: str, thread_ts: str) -> int | None:
    """The conversation whose thread starts at `thread_ts` in `channel`, if any."""
    if not thread_ts:
        return None
    found = await session.scalar(
        select(SlackThreadRow.conversation_id).where(
            SlackThreadRow.channel == channel, SlackThreadRow.thread_ts == thread_ts
        )
    )
    return None if found is None else int(found)


async def reserve(session: AsyncSession, conversation_id: int, channel: str, now: datetime) -> bool:
    """True when this caller may open the conversation's thread (nobody has one yet)."""
    result = await session.execute(
        insert_ignoring_conflicts(session, SlackThreadRow)
        .values(
            conversation_id=conversation_id,
            channel=channel,
            thread_ts="",
            covered_message_id=0,
            reserved_at=now,
            created_at=now,
        )
        .returning(SlackThreadRow.conversation_id)
    )
    return result.scalar() is not None


async def take_over(
    session: AsyncSession, conversation_id: int, cutoff: datetime, now: datetime
) -> bool:
    """Take a reservation whose worker has not opened the thread since `cutoff`."""
    result = await session.execute(
        update(SlackThreadRow)
        .where(
            SlackThreadRow.conversation_id == conversation_id,
            SlackThreadRow.thread_ts == "",
            SlackThreadRow.reserved_at < cutoff,
        )
        .values(reserved_at=now)
    )
    return result.rowcount == 1


async def opened(
    session: AsyncSession, conversation_id: int, thread_ts: str, covered_message_id: int
) -> None:
    await session.execute(
        update(SlackThreadRow)
        .where(SlackThreadRow.conversation_id == conversation_id)
        .values(thread_ts=thread_ts, covered_message_id=covered_message_id)
    )


async def missing_threads(session: AsyncSession, cutoff: datetime, limit: int = 20) -> list[int]:
    """Conversations with a person (queued or assigned) and no thread: never reserved, or
    reserved before `cutoff` and still not opened (the worker died or Slack failed)."""
    never = await session.scalars(
        select(ConversationRow.id)
        .outerjoin(SlackThreadRow, SlackThreadRow.conversation_id == ConversationRow.id)
        .where(
            ConversationRow.state.in_(OPEN_STATES),
            SlackThreadRow.conversation_id.is_(None),
        )
        .order_by(ConversationRow.id)
        .limit(limit)
    )
    stale = await session.scalars(
        select(SlackThreadRow.conversation_id)
        .join(ConversationRow, ConversationRow.id == SlackThreadRow.conversation_id)
        .where(
            ConversationRow.state.in_(OPEN_STATES),
            SlackThreadRow.thread_ts == "",
            SlackThreadRow.reserved_at < cutoff,
        )
        .order_by(SlackThreadRow.conversation_id)
        .limit(limit)
    )
    return sorted({*never, *stale})[:limit]


async def link_agent(session: AsyncSession, agent_id: int, slack_user_id: str) -> None:
    """Remember the agent's Slack user (found by email), so the next lookup is one query."""
    await session.execute(
        update(AgentRow).where(AgentRow.id == agent_id).values(slack_user_id=slack_user_id)
    )


# -- what the thread's first message shows -------------------------------------------------


async def latest_message_id(session: AsyncSession, conversation_id: int) -> int:
    found = await session.scalar(
        select(func.max(MessageRow.id)).where(MessageRow.conversation_id == conversation_id)
    )
    return int(found or 0)


async def recent_messages(
    session: AsyncSession, conversation_id: int, up_to_id: int, limit: int
) -> tuple[list[MessageRow], int]:
    """The last `limit` messages people wrote (system entries left out) up to `up_to_id`,
    oldest first, and how many came before them."""
    where = (
        MessageRow.conversation_id == conversation_id,
        MessageRow.id <= up_to_id,
        MessageRow.sender != "system",
    )
    rows = list(
        await session.scalars(
            select(MessageRow).where(*where).order_by(MessageRow.id.desc()).limit(limit)
        )
    )
    total = int(await session.scalar(select(func.count(MessageRow.id)).where(*where)) or 0)
    return rows[::-1], max(total - len(rows), 0)


async def drop_reservation(session: AsyncSession, conversation_id: int) -> None:
    """Give up a reservation whose first post failed: the next event or sweep tries again."""
    await session.execute(
        delete(SlackThreadRow).where(
            SlackThreadRow.conversation_id == conversation_id, SlackThreadRow.thread_ts == ""
        )
    )
