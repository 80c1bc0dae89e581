"""What one bot turn reads and writes, as Core statements built once.

A turn is the hottest path of the gateway (every inbound message runs one). Building ORM
statements and loading ORM objects with their JSON columns cost more CPU than SQLite or
PostgreSQL spend running them, so the turn reads plain rows (attribute access works the same)
and writes with prebuilt statements whose parameters come per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ConversationRow, CustomerRow, IdentityRow, MessageRow, OutboxRow

_MESSAGES = MessageRow.__table__
_CONVERSATIONS = ConversationRow.__table__
_CUSTOMERS = CustomerRow.__table__
_IDENTITIES = IdentityRow.__table__
_OUTBOX = OutboxRow.__table__

_NEXT_PENDING = (
    select(_MESSAGES)
    .where(_MESSAGES.c.conversation_id == bindparam("cid"), _MESSAGES.c.turn_status == "pending")
    .order_by(_MESSAGES.c.id)
    .limit(1)
)
_CONVERSATION = select(
    _CONVERSATIONS.c.id,
    _CONVERSATIONS.c.state,
    _CONVERSATIONS.c.dialog,
    _CONVERSATIONS.c.last_channel,
    _CONVERSATIONS.c.last_inbound,
).where(_CONVERSATIONS.c.id == bindparam("cid"))
_CUSTOMER = select(
    _CUSTOMERS.c.id, _CUSTOMERS.c.display_name, _CUSTOMERS.c.phone, _CUSTOMERS.c.email
).where(_CUSTOMERS.c.id == bindparam("cid"))
_IDENTITIES_OF = (
    select(
        _IDENTITIES.c.id,
        _IDENTITIES.c.channel,
        _IDENTITIES.c.external_id,
        _IDENTITIES.c.address,
        _IDENTITIES.c.unreachable,
        _IDENTITIES.c.opted_out_at,
    )
    .where(_IDENTITIES.c.customer_id == bindparam("cid"))
    .order_by(_IDENTITIES.c.id)
)
# Only the columns a handler sees: the JSON columns (raw, payload, address) of twenty rows
# would cost more to decode than the rest of the turn.
_TRANSCRIPT = (
    select(
        _MESSAGES.c.id,
        _MESSAGES.c.channel,
        _MESSAGES.c.direction,
        _MESSAGES.c.sender,
        _MESSAGES.c.text,
        _MESSAGES.c.created_at,
    )
    .where(_MESSAGES.c.customer_id == bindparam("cid"), _MESSAGES.c.note.is_(False))
    .order_by(_MESSAGES.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)

_FINISH_TURN = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("mid"), _MESSAGES.c.turn_status == "pending")
    .values(turn_status=bindparam("status"))
)
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)
_INSERT_OUTBOX = insert(_OUTBOX)
_SAVE_DIALOG = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("cid"))
    .values(dialog=bindparam("dialog"), updated_at=bindparam("now"))
)


@dataclass(slots=True)
class TurnInput:
    """The next pending message of a conversation and everything its turn reads."""

    message: Row[Any]
    conversation: Row[Any]
    customer: Row[Any]
    identities: list[Row[Any]]
    transcript: list[Row[Any]]  # oldest first


async def next_turn(
    session: AsyncSession, conversation_id: int, transcript_size: int
) -> TurnInput | None:
    message = (await session.execute(_NEXT_PENDING, {"cid": conversation_id})).first()
    if message is None:
        return None
    conversation = (await session.execute(_CONVERSATION, {"cid": conversation_id})).one()
    customer_id = message.customer_id
    customer = (await session.execute(_CUSTOMER, {"cid": customer_id})).one()
    identities = list(await session.execute(_IDENTITIES_OF, {"cid": customer_id}))
    latest = list(
        await session.execute(_TRANSCRIPT, {"cid": customer_id, "limit": transcript_size})
    )
    latest.reverse()
    return TurnInput(message, conversation, customer, identities, latest)


async def finish_turn(session: AsyncSession, message_id: int, status: str) -> bool:
    """Mark an inbound message answered; False if another worker already did."""
    result = await session.execute(_FINISH_TURN, {"mid": message_id, "status": status})
    return result.rowcount == 1  # type: ignore[attr-defined]


async def insert_reply(
    session: AsyncSession,
    message: dict[str, Any],
    outbox_address: dict[str, Any],
    outbox_body: dict[str, Any],
    now: datetime,
) -> int:
    """Store an outbound message and its outbox row (the send to perform); returns its id."""
    message_id: int = (await session.execute(_INSERT_MESSAGE, message)).scalar_one()
    await session.execute(
        _INSERT_OUTBOX,
        {
            "message_id": message_id,
            "conversation_id": message["conversation_id"],
            "address": outbox_address,
            "body": outbox_body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        },
    )
    return message_id


async def save_dialog(
    session: AsyncSession, conversation_id: int, dialog: dict[str, Any], now: datetime
) -> None:
    await session.execute(_SAVE_DIALOG, {"cid": conversation_id, "dialog": dialog, "now": now})
