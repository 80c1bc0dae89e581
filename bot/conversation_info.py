"""What agents' surfaces show of a conversation: its summary (customer, identities, earlier
conversations, assignee, metrics) and its thread. The REST API, the console and Slack share
these, so every surface shows the same thing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff_views import handoff_conversation_json, thread_message_json
from bot.views import customer_json
from storage import agents as agent_store
from storage import customers
from storage import handoff as queue
from storage.tables import AgentRow, ConversationRow


async def conversation_detail(session: AsyncSession, conversation_id: int) -> dict[str, Any] | None:
    """The conversation with its customer and metrics; None when there is no such one."""
    row = await session.get(ConversationRow, conversation_id)
    if row is None:
        return None
    customer = await customers.get_customer(session, row.customer_id)
    identities = await customers.identities_of(session, row.customer_id)
    history = await queue.conversations_of_customer(session, row.customer_id)
    assignee = await agent_store.get_agent(session, row.assignee_id or 0)
    assert customer is not None
    return {
        **handoff_conversation_json(row),
        "assignee": agent_ref(assignee),
        "customer": {
            **customer_json(customer, identities),
            "conversations": [_earlier(c) for c in history if c.id != row.id],
        },
    }


async def thread(
    session: AsyncSession, conversation_id: int, after_id: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """The thread oldest first, notes and system entries included: `limit` entries after
    `after_id` (page on with the last id)."""
    rows = await queue.messages_of_conversation(session, conversation_id, after_id, limit)
    names = {a.id: a.name for a in await agent_store.list_agents(session)}
    return [thread_message_json(row, names) for row in rows]


def agent_ref(agent: AgentRow | None) -> dict[str, Any] | None:
    return {"id": agent.id, "name": agent.name} if agent else None


def _earlier(row: ConversationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "handed_off": row.handed_off,
        "csat_score": row.csat_score,
    }
