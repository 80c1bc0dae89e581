"""Steps the hand-off transitions share, each run inside the caller's transaction: lock the
conversation, queue it, assign it (automatically or to a given agent), ask for a rating.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import csat
from bot.handoff_rules import Forbidden, NotFound, Unreachable, describe_reason
from bot.metrics import Metrics
from bot.model import Outbound, Sender
from bot.thread import Effects, language_of, system_note, to_customer
from storage import agents as agent_store
from storage import handoff as queue
from storage.dialect import insert_ignoring_conflicts
from storage.tables import AgentRow, ConversationRow, KeyValue, MessageRow


async def lock(session: AsyncSession, conversation_id: int, now: datetime) -> ConversationRow:
    """The conversation, write-locked until the commit, its activity time now."""
    conversation = await queue.lock_for_change(session, conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    conversation.updated_at = now
    return conversation


def require_owner(conversation: ConversationRow, agent: AgentRow, action: str) -> None:
    """Another agent's conversation is theirs to release, close or transfer (admins except)."""
    if conversation.state != "agent" or agent.role == "admin":
        return
    if conversation.assignee_id != agent.id:
        raise Forbidden(f"Only the assigned agent or an admin may {action} this conversation.")


async def owned_message(session: AsyncSession, conversation: ConversationRow) -> str:
    owner = await agent_store.get_agent(session, conversation.assignee_id or 0)
    name = owner.name if owner else f"agent {conversation.assignee_id}"
    return f"Conversation {conversation.id} is assigned to {name}."


async def enter_queue(
    session: AsyncSession,
    conversation: ConversationRow,
    reason: str,
    team: str | None,
    now: datetime,
    effects: Effects,
    actor: AgentRow | None,
    metrics: Metrics,
) -> None:
    conversation.state = "queued"
    conversation.handoff_reason = reason[:50]  # a handler's own reason, as long as fits
    if team is not None:
        conversation.team = team[:100]
    # A transfer is for someone else: while it waits, no automatic offer goes back to them.
    conversation.transferred_from = conversation.assignee_id if reason == "transfer" else None
    conversation.assignee_id = None
    conversation.queued_at = now
    conversation.queue_timeout_at = None
    conversation.handed_off = True
    conversation.handed_off_at = conversation.handed_off_at or now
    text = f"Waiting for an agent: {describe_reason(reason)}"
    tr = f"Temsilci bekleniyor: {describe_reason(reason, 'tr')}"
    if actor is not None and reason != "agent_claimed":
        text += f" (by {actor.name})"
        tr += f" ({actor.name} tarafından)"
    if conversation.team:
        text += f"; team {conversation.team}"
        tr += f"; ekip {conversation.team}"
    await system_note(
        session, conversation, text, now, effects, tr=tr, event="queued", reason=reason
    )
    effects.conversation(conversation, "queued")
    effects.after.append(metrics.handoffs.labels(reason).inc)


async def auto_assign(
    session: AsyncSession,
    conversation: ConversationRow,
    now: datetime,
    effects: Effects,
) -> AgentRow | None:
    """The least busy online agent of the conversation's team with room, if any; never the
    agent who transferred it (they may still claim it themselves)."""
    exclude = conversation.transferred_from
    pool = await agent_store.candidates(session, conversation.team)
    if not pool:
        return None
    # Lock every candidate in id order (no deadlocks), then count again under the locks:
    # two workers assigning at once cannot both fill an agent's last slot.
    locked = await agent_store.lock_agents(session, [agent.id for agent, _load in pool])
    counts = await agent_store.loads(session, [agent.id for agent in locked])
    free = [
        a
        for a in locked
        if a.status == "online" and counts[a.id] < a.max_concurrent and a.id != exclude
    ]
    if not free:
        return None
    agent = min(free, key=lambda a: (counts[a.id], a.id))
    await assign(session, conversation, agent, now, effects, by=None)
    return agent


async def assign(
    session: AsyncSession,
    conversation: ConversationRow,
    agent: AgentRow,
    now: datetime,
    effects: Effects,
    *,
    by: AgentRow | None,
) -> None:
    """Give the conversation to `agent`; `by` None: automatic assignment."""
    conversation.state = "agent"
    conversation.assignee_id = agent.id
    conversation.transferred_from = None
    conversation.assigned_at = now
    conversation.updated_at = now
    # Turkish puts the name where no case suffix is needed ("Ayşe'ye" depends on the name).
    if by is None:
        how, tr = " (automatic)", f"Konuşma otomatik olarak atandı: {agent.name}"
    elif by.id != agent.id:
        how, tr = f" by {by.name}", f"{by.name} konuşmayı atadı: {agent.name}"
    else:
        how, tr = "", f"{agent.name} konuşmayı üstlendi"
    await system_note(
        session,
        conversation,
        f"Conversation assigned to {agent.name}{how}",
        now,
        effects,
        tr=tr,
        event="assigned",
        agent_id=agent.id,
        automatic=by is None,
    )
    effects.conversation(conversation, "assigned", assignee_name=agent.name)


async def ask_rating(
    session: AsyncSession,
    conversation: ConversationRow,
    now: datetime,
    effects: Effects,
    default_language: str,
) -> None:
    """The CSAT question, on the customer's current channel (bot/csat.py)."""
    lang = language_of(conversation, default_language)
    try:
        await to_customer(
            session,
            conversation,
            Outbound(text=csat.question(lang), intent="csat_question"),
            Sender.BOT,
            now,
            effects,
            language=lang,
        )
    except Unreachable:
        return  # nothing to answer: nobody to ask
    conversation.csat_asked_at = now


async def replay(session: AsyncSession, key: str) -> MessageRow | None:
    """The message an earlier request with this idempotency key wrote, or None."""
    value = await session.scalar(select(KeyValue.value).where(KeyValue.key == key))
    return await session.get(MessageRow, int(value)) if value else None


async def remember(session: AsyncSession, key: str, message_id: int) -> None:
    # Inside the reply's transaction: a retry either sees this key or the reply never was.
    await session.execute(
        insert_ignoring_conflicts(session, KeyValue).values(key=key, value=str(message_id))
    )
