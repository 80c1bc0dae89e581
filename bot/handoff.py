"""The human hand-off service: queue, assign, claim, release, close, and agents' replies.

The REST API, the agent console and Slack all call these methods, so a reply from Slack and
one from the console do exactly the same thing. Every change is one transaction: the new
state, a system entry in the thread ("Conversation assigned to Ayşe", visible to agents,
never sent) and any message to the customer (outbox). Events are published after the commit,
on the EventBus (every worker's console sockets) and to in-process listeners (`subscribe`),
which hear each change once, on the worker that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import handoff_steps as steps
from bot import rating
from bot.events import EventBus
from bot.handoff_rules import REASONS, Conflict, HandoffError, check
from bot.metrics import Metrics
from bot.model import Outbound, Sender, utcnow
from bot.settings import Settings
from bot.thread import Effects, Work, language_of, note, system_note, to_customer
from storage import agents as agent_store
from storage import handoff as queue
from storage.tables import AgentRow, ConversationRow, MessageRow

log = logging.getLogger("omnigate.handoff")

T = TypeVar("T")
Listener = Callable[[dict[str, Any]], Awaitable[None]]

MAX_TEXT = 4096
MAX_CLIENT_KEY = 64


class HandoffService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventBus,
        metrics: Metrics,
        settings: Settings,
        wake_sender: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._metrics = metrics
        self._settings = settings
        self._wake_sender = wake_sender
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Hear every hand-off event once, after its commit (Slack mirrors threads this way).

        Events are the EventBus dicts: ``{"type": "conversation", "event": "queued" |
        "assigned" | "released" | "closed" | "timeout" | "rated", "conversation_id", "state",
        "assignee_id", …}`` and ``{"type": "message", "event": "agent_reply" | "note" |
        "customer", "message_id", "conversation_id", "via", …}``.
        """
        self._listeners.append(listener)

    # -- transitions -------------------------------------------------------------------------

    async def handoff(
        self,
        conversation_id: int,
        *,
        reason: str = "handler",
        team: str | None = None,
        actor: AgentRow | None = None,
    ) -> ConversationRow:
        """Queue the conversation for a person (from `bot`, or from `agent` as a transfer)."""
        if reason not in REASONS:
            raise HandoffError(f"Unknown reason {reason!r}; use one of {', '.join(REASONS)}.")

        async def work(session: AsyncSession, effects: Effects, now: datetime) -> ConversationRow:
            conversation = await steps.lock(session, conversation_id, now)
            check("handoff", conversation.state, conversation.id)
            if conversation.state == "agent" and actor is not None:
                steps.require_owner(conversation, actor, "transfer")
            why = "transfer" if conversation.state == "agent" else reason
            # A transfer goes to someone else, even within the same team (enter_queue).
            await steps.enter_queue(
                session, conversation, why, team, now, effects, actor, self._metrics
            )
            await steps.auto_assign(session, conversation, now, effects)
            return conversation

        return await self.change(work)

    async def claim(
        self, conversation_id: int, agent: AgentRow, *, by: AgentRow | None = None
    ) -> ConversationRow:
        """Give the conversation to `agent` (`by`: an admin assigning someone else).

        Claiming one's own conversation again is a no-op; someone else's is a conflict.
        Manual claims ignore max_concurrent (that limit is for automatic assignment).
        """

        async def work(session: AsyncSession, effects: Effects, now: datetime) -> ConversationRow:
            conversation = await steps.lock(session, conversation_id, now)
            if conversation.state == "agent":
                if conversation.assignee_id == agent.id:
                    return conversation
                raise Conflict(await steps.owned_message(session, conversation))
            check("claim", conversation.state, conversation.id)
            if conversation.state == "bot":
                await steps.enter_queue(
                    session,
                    conversation,
                    "agent_claimed",
                    None,
                    now,
                    effects,
                    by or agent,
                    self._metrics,
                )
            await steps.assign(session, conversation, agent, now, effects, by=by or agent)
            return conversation

        return await self.change(work)

    async def release(self, conversation_id: int, agent: AgentRow) -> ConversationRow:
        """Back to the bot: the owner (or an admin) hands it back; a queued one is cancelled."""

        async def work(session: AsyncSession, effects: Effects, now: datetime) -> ConversationRow:
            conversation = await steps.lock(session, conversation_id, now)
            check("release", conversation.state, conversation.id)
            steps.require_owner(conversation, agent, "release")
            conversation.state = "bot"
            conversation.assignee_id = None
            # The bot starts counting misunderstandings afresh.
            conversation.dialog = {**(conversation.dialog or {}), "fallbacks": 0}
            await system_note(
                session,
                conversation,
                f"Conversation handed back to the bot by {agent.name}",
                now,
                effects,
                tr=f"{agent.name} konuşmayı bota geri verdi",
                event="released",
                agent_id=agent.id,
            )
            effects.conversation(conversation, "released", by=agent.id)
            return conversation

        conversation = await self.change(work)
        await self.offer_queue()  # the agent has room for someone else now
        return conversation

    async def close(
        self, conversation_id: int, agent: AgentRow, *, ask_csat: bool = True
    ) -> ConversationRow:
        """Close the conversation and ask the customer for a 1-5 rating on their channel."""

        async def work(session: AsyncSession, effects: Effects, now: datetime) -> ConversationRow:
            conversation = await steps.lock(session, conversation_id, now)
            check("close", conversation.state, conversation.id)
            steps.require_owner(conversation, agent, "close")
            conversation.state = "closed"
            conversation.closed_at = now
            conversation.resolved_at = now
            await system_note(
                session,
                conversation,
                f"Conversation closed by {agent.name}",
                now,
                effects,
                tr=f"{agent.name} konuşmayı kapattı",
                event="closed",
                agent_id=agent.id,
            )
            if ask_csat:
                await steps.ask_rating(
                    session, conversation, now, effects, self._settings.default_language
                )
            effects.conversation(conversation, "closed", by=agent.id)
            handed_off = "true" if conversation.handed_off else "false"
            took = (now - conversation.created_at).total_seconds()
            effects.after.append(self._metrics.conversations_closed.labels(handed_off).inc)
            effects.after.append(lambda: self._metrics.resolution.labels(handed_off).observe(took))
            return conversation

        conversation = await self.change(work)
        await self.offer_queue()
        return conversation

    # -- agents' messages --------------------------------------------------------------------

    async def agent_reply(
        self,
        conversation_id: int,
        agent: AgentRow,
        text: str,
        note: bool = False,
        *,
        via: str = "api",
        client_key: str | None = None,
    ) -> MessageRow:
        """An agent writes in the thread. A note is stored and never sent; a reply goes to the
        customer's current channel (outbox, same transaction) and claims the conversation if
        nobody owns it. `via` (console, slack, api) travels with the event so a surface can
        skip its own echo; a repeated `client_key` returns the first message, sends nothing.
        """
        text = text.strip()
        if not text:
            raise HandoffError("Write some text.")
        if len(text) > MAX_TEXT:
            raise HandoffError(f"Text is longer than {MAX_TEXT} characters.")
        if client_key is not None and not 0 < len(client_key) <= MAX_CLIENT_KEY:
            raise HandoffError(f"client_key must be 1-{MAX_CLIENT_KEY} characters.")

        async def work(session: AsyncSession, effects: Effects, now: datetime) -> MessageRow:
            conversation = await steps.lock(session, conversation_id, now)
            if client_key is not None:
                earlier = await steps.replay(session, f"reply:{agent.id}:{client_key}")
                if earlier is not None:
                    return earlier
            if note:
                row = await _note(session, conversation, agent.id, text, now, effects)
            else:
                row = await self._reply(session, conversation, agent, text, now, effects)
            effects.events[-1].update(via=via, agent_id=agent.id)
            if client_key is not None:
                await steps.remember(session, f"reply:{agent.id}:{client_key}", row.id)
            return row

        return await self.change(work)

    async def _reply(
        self,
        session: AsyncSession,
        conversation: ConversationRow,
        agent: AgentRow,
        text: str,
        now: datetime,
        effects: Effects,
    ) -> MessageRow:
        check("reply", conversation.state, conversation.id)
        if conversation.state == "agent" and conversation.assignee_id != agent.id:
            raise Conflict(await steps.owned_message(session, conversation))
        if conversation.state == "bot":
            await steps.enter_queue(
                session, conversation, "agent_claimed", None, now, effects, agent, self._metrics
            )
        if conversation.state == "queued":
            await steps.assign(session, conversation, agent, now, effects, by=agent)
        row = await to_customer(
            session,
            conversation,
            Outbound(text=text, intent="agent_reply"),
            Sender.AGENT,
            now,
            effects,
            agent_id=agent.id,
            language=language_of(conversation, self._settings.default_language),
            extra_payload={"agent_name": agent.name},
        )
        effects.events[-1].update(event="agent_reply", sender="agent", note=False)
        if conversation.first_agent_reply_at is None:
            conversation.first_agent_reply_at = now
            since = conversation.handed_off_at or conversation.created_at
            waited = (now - since).total_seconds()
            effects.after.append(lambda: self._metrics.first_agent_reply.observe(waited))
        return row

    # -- hooks for the core ------------------------------------------------------------------

    async def queue_in_turn(
        self,
        session: AsyncSession,
        conversation: ConversationRow,
        reason: str,
        now: datetime,
        effects: Effects,
        team: str | None = None,
    ) -> None:
        """A handler asked for a person (`ctx.handoff`): queue inside the turn's transaction."""
        if conversation.state != "bot":
            return  # an agent stepped in while the bot was thinking
        await steps.enter_queue(
            session, conversation, reason, team, now, effects, None, self._metrics
        )
        await steps.auto_assign(session, conversation, now, effects)

    async def customer_wrote(self, row: MessageRow, state: str) -> None:
        """A customer's message the bot stayed silent on: tell the listeners (Slack mirror).

        The console needs nothing more: ingest already published the message on the bus.
        """
        await self._notify(
            [
                {
                    "type": "message",
                    "event": "customer",
                    "message_id": row.id,
                    "conversation_id": row.conversation_id,
                    "customer_id": row.customer_id,
                    "state": state,
                    "sender": "customer",
                    "note": False,
                }
            ]
        )

    async def capture_rating(self, row: MessageRow) -> bool:
        """The customer's answer to the CSAT question of their last closed conversation.

        True when `row` was that answer (stored, thanked, turn finished): the bot skips it.
        """
        return await rating.capture(
            row, self.change, self._settings.default_language, self._metrics
        )

    async def assign_waiting(self, limit: int = 50) -> int:
        """Offer queued conversations (longest waiting first) to agents with room."""
        async with self._sessions() as session:
            waiting = await queue.waiting(session, limit)
            # A hint read without locks (nothing is written while nobody is free);
            # auto_assign checks again under the locks.
            free = {t for t in {t for _, t in waiting} if await agent_store.candidates(session, t)}
        assigned = 0
        for conversation_id, team in waiting:
            if team not in free:
                continue

            async def work(
                session: AsyncSession, effects: Effects, now: datetime, cid: int = conversation_id
            ) -> bool:
                conversation = await queue.lock_for_change(session, cid)
                if conversation is None or conversation.state != "queued":
                    return False
                return await steps.auto_assign(session, conversation, now, effects) is not None

            assigned += await self.change(work)
        return assigned

    async def offer_queue(self) -> None:
        """Best effort after a committed change: the queue watch retries every round."""
        try:
            await self.assign_waiting()
        except Exception:
            log.exception("offering the queue failed")

    async def announce(self, effects: Effects) -> None:
        """After the commit: wake the sender, publish on the bus, tell the listeners."""
        for done in effects.after:
            done()
        if effects.wake_sender:
            self._wake_sender()
        for event in effects.events:
            await self._events.publish(event)
        await self._notify(effects.events)

    async def change(self, work: Work[T]) -> T:
        """Run `work` in one transaction, then announce its effects."""
        effects = Effects()
        async with self._sessions() as session, session.begin():
            result = await work(session, effects, utcnow())
        await self.announce(effects)
        return result

    async def _notify(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            for listener in self._listeners:
                try:
                    await listener(event)
                except Exception:  # one surface failing must not stop the others
                    log.exception(
                        "hand-off listener failed",
                        extra={"conversation_id": event.get("conversation_id")},
                    )


async def _note(
    session: AsyncSession,
    conversation: ConversationRow,
    agent_id: int,
    text: str,
    now: datetime,
    effects: Effects,
) -> MessageRow:
    row = await note(session, conversation, agent_id, text, now, effects)
    effects.events[-1].update(event="note", sender="agent", note=True)
    return row
