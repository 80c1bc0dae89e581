"""A customer's message as the storage functions take it (the storage tests' one builder), a
bot reply queued in the outbox, and a sender's lease round."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import utcnow
from storage import messages, outbox


def inbound_row(
    conversation_id: int, customer_id: int, provider_id: str, **extra: Any
) -> dict[str, Any]:
    """An inbound SMS row, pending its turn; `extra` overrides any column."""
    values: dict[str, Any] = {
        "conversation_id": conversation_id,
        "customer_id": customer_id,
        "direction": "in",
        "channel": "sms",
        "provider": "twilio",
        "sender": "customer",
        "kind": "text",
        "text": "hi",
        "payload": {},
        "media": [],
        "address": {"channel": "sms", "provider": "twilio", "account": "+1", "chat_id": "+90"},
        "provider_message_id": provider_id,
        "turn_status": "pending",
        "note": False,
        "created_at": utcnow(),
    }
    values.update(extra)
    return values


async def lease_due(
    s: AsyncSession, owner: str, seconds: float, limit: int = 100
) -> list[outbox.LeasedRow]:
    """What a sender's round does: read the due heads, lease them."""
    _heads, leased = await outbox.lease_heads(s, utcnow(), owner, seconds, take=limit, read=limit)
    return leased


async def queued_reply(
    s: AsyncSession,
    conversation_id: int,
    customer_id: int,
    text: str,
    now: datetime,
    address: dict[str, Any] | None = None,
) -> int:
    """A bot reply with its outbox row, pending: the row's id."""
    address = address or {"chat_id": "x"}
    message = await messages.insert_outbound(
        s,
        {
            "conversation_id": conversation_id,
            "customer_id": customer_id,
            "direction": "out",
            "channel": "sms",
            "sender": "bot",
            "text": text,
            "address": address,
            "delivery_status": "pending",
            "created_at": now,
        },
    )
    row = outbox.new_row(message.id, conversation_id, address, {"text": text}, now)
    s.add(row)
    await s.flush()
    return row.id
