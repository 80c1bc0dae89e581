"""A customer's message as the storage functions take it (the storage tests' one builder)."""

from __future__ import annotations

from typing import Any

from bot.model import utcnow


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
