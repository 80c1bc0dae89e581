"""Writing to a conversation's thread outside a bot turn: system entries for agents, and
messages to the customer (written to the outbox in the caller's transaction).

`Effects` collects what has to happen after the commit (wake the sender, publish events), so
nothing is announced that might still roll back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff_rules import Unreachable
from bot.model import Address, Delivery, Kind, Outbound, Sender
from storage import handoff as queue
from storage import messages, outbox
from storage.tables import ConversationRow, MessageRow


@dataclass
class Effects:
    """What one committed change announces (EventBus dicts, in order) and whether the outbox
    has new rows."""

    events: list[dict[str, Any]] = field(default_factory=list)
    wake_sender: bool = False
    # Run after the commit only (metrics count what happened, not what rolled back).
    after: list[Callable[[], None]] = field(default_factory=list)

    def message(self, row: MessageRow, **extra: Any) -> None:
        self.events.append(
            {
                "type": "message",
                "message_id": row.id,
                "conversation_id": row.conversation_id,
                "customer_id": row.customer_id,
                "sender": row.sender,
                "note": row.note,
                **extra,
            }
        )

    def conversation(self, row: ConversationRow, event: str, **extra: Any) -> None:
        self.events.append(
            {
                "type": "conversation",
                "event": event,
                "conversation_id": row.id,
                "customer_id": row.customer_id,
                "state": row.state,
                "assignee_id": row.assignee_id,
                "team": row.team or None,
                "reason": row.handoff_reason or None,
                **extra,
            }
        )


T = TypeVar("T")
# A change: work done in one transaction, then its effects announced (HandoffService.change).
Work = Callable[[AsyncSession, Effects, datetime], Awaitable[T]]
Change = Callable[[Work[T]], Awaitable[T]]


async def system_note(
    session: AsyncSession,
    conversation: ConversationRow,
    text: str,
    now: datetime,
    effects: Effects,
    *,
    tr: str,
    **details: Any,
) -> MessageRow:
    """An entry agents see in the thread ("Conversation assigned to Ayşe"); never sent.

    `text` (English) is what the API and Slack show; the console shows the entry in its own
    language, so `tr` carries the Turkish wording next to it.
    """
    row = await messages.insert_outbound(
        session,
        {
            "conversation_id": conversation.id,
            "customer_id": conversation.customer_id,
            "direction": "out",
            "channel": conversation.last_channel or "webchat",
            "sender": Sender.SYSTEM,
            "kind": "event",
            "text": text,
            "payload": {**details, "texts": {"en": text, "tr": tr}},
            "note": True,
            "delivery_status": "",
            "created_at": now,
        },
    )
    effects.message(row)
    return row


async def note(
    session: AsyncSession,
    conversation: ConversationRow,
    agent_id: int,
    text: str,
    now: datetime,
    effects: Effects,
) -> MessageRow:
    """An agent's internal note: stored in the thread, never sent."""
    row = await messages.insert_outbound(
        session,
        {
            "conversation_id": conversation.id,
            "customer_id": conversation.customer_id,
            "direction": "out",
            "channel": conversation.last_channel or "webchat",
            "sender": Sender.AGENT,
            "agent_id": agent_id,
            "kind": Kind.TEXT,
            "text": text,
            "payload": {},
            "note": True,
            "delivery_status": "",
            "created_at": now,
        },
    )
    effects.message(row)
    return row


async def current_address(session: AsyncSession, conversation: ConversationRow) -> Address:
    """Where the customer is now: the address of their latest message in this conversation."""
    last = await queue.last_inbound(session, conversation.id)
    if last is None or last.address is None:
        raise Unreachable(f"conversation {conversation.id} has no message to answer")
    return Address.from_dict(last.address)


async def to_customer(
    session: AsyncSession,
    conversation: ConversationRow,
    outbound: Outbound,
    sender: Sender,
    now: datetime,
    effects: Effects,
    *,
    agent_id: int | None = None,
    language: str = "tr",
    address: Address | None = None,
    extra_payload: dict[str, Any] | None = None,
) -> MessageRow:
    """A message to the customer on their current channel: transcript row + outbox row."""
    address = address or await current_address(session, conversation)
    body = {**outbound.to_dict(), "sender": sender.value, "language": language}
    row = await messages.insert_outbound(
        session,
        {
            "conversation_id": conversation.id,
            "customer_id": conversation.customer_id,
            "direction": "out",
            "channel": address.channel,
            "provider": address.provider,
            "sender": sender,
            "agent_id": agent_id,
            "kind": Kind.TEXT,
            "text": outbound.text,
            "payload": {"buttons": body["buttons"], **(extra_payload or {})},
            "media": body["media"],
            "address": address.to_dict(),
            "delivery_status": Delivery.PENDING,
            "created_at": now,
        },
    )
    session.add(outbox.new_row(row.id, conversation.id, address.to_dict(), body, now))
    effects.message(row)
    effects.wake_sender = True
    return row


def language_of(conversation: ConversationRow, default: str) -> str:
    lang = (conversation.dialog or {}).get("lang")
    return lang if lang in ("tr", "en") else default
