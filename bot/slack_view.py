"""What a conversation's Slack thread shows, read from the database: the summary of its
first message (bot/conversation_info.py, the same facts the console shows) and the line a
thread entry becomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.slack import ThreadSummary, TranscriptLine, escape
from bot.conversation_info import conversation_detail
from bot.handoff_rules import describe_reason
from storage import agents as agent_store
from storage import slack as store
from storage.tables import CustomerRow, MessageRow

TRANSCRIPT_LINES = 10
_LINE_LIMIT = 3000


async def thread_summary(
    session: AsyncSession, conversation_id: int, covered_message_id: int
) -> ThreadSummary | None:
    """The summary with the transcript up to `covered_message_id` (fixed when the thread
    opened, so later updates of the first message show the same messages)."""
    detail = await conversation_detail(session, conversation_id)
    if detail is None:
        return None
    customer = detail["customer"]
    name = customer_name(customer)
    rows, earlier = await store.recent_messages(
        session, conversation_id, covered_message_id, TRANSCRIPT_LINES
    )
    names = {a.id: a.name for a in await agent_store.list_agents(session)}
    extra: dict[str, str] = {}
    score = detail["csat"]["score"]
    if score is not None:
        extra["Rating"] = f"{score}/5"
    return ThreadSummary(
        conversation_id=conversation_id,
        customer_name=name,
        identities=tuple((i["channel"], i["external_id"]) for i in customer["identities"]),
        reason=describe_reason(detail["handoff_reason"] or "handler"),
        team=detail["team"] or "",
        state=detail["state"],
        assignee=(detail["assignee"] or {}).get("name", ""),
        transcript=tuple(
            TranscriptLine(_who(row, name, names), row.channel, _text(row)) for row in rows
        ),
        earlier=earlier,
        extra=extra,
    )


def customer_name(customer: dict[str, Any]) -> str:
    if customer.get("display_name"):
        return str(customer["display_name"])
    for identity in customer.get("identities", []):
        if identity.get("display_name"):
            return str(identity["display_name"])
    return f"Customer {customer['id']}"


async def mirror_line(session: AsyncSession, message_id: int, via: str) -> tuple[str, bool] | None:
    """The thread line of a transcript entry (mrkdwn, escaped) and whether it should also be
    broadcast to the channel (the conversation is waiting for someone again)."""
    row = await session.get(MessageRow, message_id)
    if row is None:
        return None
    if row.sender == "system":
        return f"_{escape(row.text)}_", (row.payload or {}).get("event") == "queued"
    text = escape(_text(row))[:_LINE_LIMIT]
    if row.sender == "customer":
        customer = await session.get(CustomerRow, row.customer_id)
        name = escape(customer.display_name if customer and customer.display_name else "Customer")
        return f"*{name}* _({escape(row.channel)})_: {text}", False
    agent = await agent_store.get_agent(session, row.agent_id or 0)
    who = escape(agent.name if agent else "An agent")
    if row.note:
        return f":memo: *Note by {who}*: {text}", False
    return f"*{who}* _(via {escape(via)}, to {escape(row.channel)})_: {text}", False


def _who(row: MessageRow, customer: str, agents: dict[int, str]) -> str:
    if row.sender == "customer":
        return customer
    if row.sender == "agent":
        name = agents.get(row.agent_id or 0, "Agent")
        return f"{name} (note)" if row.note else name
    return "Bot"


def _text(row: MessageRow) -> str:
    return row.text or f"[{row.kind}]"
