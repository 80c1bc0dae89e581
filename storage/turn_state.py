"""What one bot turn reads and writes, as Core statements built once.

A turn is the hottest path of the gateway (every inbound message runs one). Building ORM
statements and loading ORM objects with their JSON columns cost more CPU than SQLite or
PostgreSQL spend running them, so the turn reads plain rows (attribute access works the same)
and writes with prebuilt statements whose parameters come per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.dialect import is_postgres, not_indexed, padded
from storage.tables import ConversationRow, CustomerRow, IdentityRow, MessageRow, OutboxRow

_MESSAGES = MessageRow.__table__
_CONVERSATIONS = ConversationRow.__table__
_CUSTOMERS = CustomerRow.__table__
_IDENTITIES = IdentityRow.__table__
_OUTBOX = OutboxRow.__table__

# A turn reads its message without `raw`: the provider's whole payload, kept for audits,
# is the largest column and no turn looks at it.
_TURN_MESSAGE = [column for column in _MESSAGES.c if column.name != "raw"]
_NEXT_PENDING = (
    select(*_TURN_MESSAGE)
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


# The same reads for many conversations at once (bot/turns.py batches concurrent turns).
_IDS = bindparam("ids", expanding=True)


# Each conversation's first pending message with its conversation and customer, in one
# statement (one snapshot, one round trip): the prefixed columns are theirs.
def _heads_query() -> Any:
    pending = _MESSAGES.alias("pending")
    heads = (
        select(func.min(pending.c.id))
        .where(pending.c.conversation_id.in_(_IDS), pending.c.turn_status == "pending")
        .group_by(pending.c.conversation_id)
    )
    return (
        select(
            *_TURN_MESSAGE,
            *(c.label(f"conv_{c.name}") for c in _CONVERSATION.selected_columns),
            *(c.label(f"cust_{c.name}") for c in _CUSTOMER.selected_columns),
        )
        .select_from(
            _MESSAGES.join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id).join(
                _CUSTOMERS, _CUSTOMERS.c.id == _MESSAGES.c.customer_id
            )
        )
        .where(_MESSAGES.c.id.in_(heads))
    )


_HEADS = _heads_query()
_IDENTITIES_BY_CUSTOMER = (
    select(_IDENTITIES.c.customer_id, *_IDENTITIES_OF.selected_columns)
    .where(_IDENTITIES.c.customer_id.in_(_IDS))
    .order_by(_IDENTITIES.c.id)
)


_FINISH_TURNS = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id.in_(_IDS), not_indexed(_MESSAGES.c.turn_status) == "pending")
    .values(turn_status=bindparam("status"))
    .returning(_MESSAGES.c.id)
)
# Ids in the order of the rows: SQLAlchemy correlates them on PostgreSQL, but on SQLite it can
# only do that by inserting one row per statement. There one writer's multi-row INSERT takes
# ascending rowids in VALUES order, so sorting the ids it returns is the same correlation.
_INSERT_MESSAGES = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGES_SQLITE = insert(_MESSAGES).returning(_MESSAGES.c.id)


class ConversationInput(NamedTuple):
    id: int
    state: str
    dialog: dict[str, Any] | None
    last_channel: str
    last_inbound: dict[str, Any] | None


class CustomerInput(NamedTuple):
    id: int
    display_name: str
    phone: str
    email: str


@dataclass(slots=True)
class TurnInput:
    """The next pending message of a conversation and everything its turn reads."""

    message: Row[Any]
    conversation: ConversationInput
    customer: CustomerInput
    identities: list[Row[Any]]


async def next_turn(session: AsyncSession, conversation_id: int) -> TurnInput | None:
    message = (await session.execute(_NEXT_PENDING, {"cid": conversation_id})).first()
    if message is None:
        return None
    conversation = (await session.execute(_CONVERSATION, {"cid": conversation_id})).one()
    customer_id = message.customer_id
    customer = (await session.execute(_CUSTOMER, {"cid": customer_id})).one()
    conversation, customer = ConversationInput(*conversation), CustomerInput(*customer)
    identities = list(await session.execute(_IDENTITIES_OF, {"cid": customer_id}))
    return TurnInput(message, conversation, customer, identities)


async def latest_messages(session: AsyncSession, customer_id: int, limit: int) -> list[Row[Any]]:
    """The customer's latest `limit` messages on every channel, notes left out, oldest first.

    Read when a handler asks for the transcript, not with every turn: most turns never look,
    and twenty rows a turn cost more than the rest of its reads."""
    latest = list(await session.execute(_TRANSCRIPT, {"cid": customer_id, "limit": limit}))
    latest.reverse()
    return latest


async def finish_turn(session: AsyncSession, message_id: int, status: str) -> bool:
    """Mark an inbound message answered; False if another worker already did."""
    result = await session.execute(_FINISH_TURN, {"mid": message_id, "status": status})
    return result.rowcount == 1  # type: ignore[attr-defined]


async def insert_reply(
    session: AsyncSession,
    message: dict[str, Any],
    outbox_address: dict[str, Any],
    outbox_body: dict[str, Any],
) -> int:
    """Store an outbound message and its outbox row (the send to perform); returns its id."""
    message_id: int = (await session.execute(_INSERT_MESSAGE, message)).scalar_one()
    await session.execute(
        _INSERT_OUTBOX, _outbox_row(message_id, message, outbox_address, outbox_body)
    )
    return message_id


async def save_dialog(
    session: AsyncSession, conversation_id: int, dialog: dict[str, Any], now: datetime
) -> None:
    await session.execute(_SAVE_DIALOG, {"cid": conversation_id, "dialog": dialog, "now": now})


async def next_turns(session: AsyncSession, conversation_ids: list[int]) -> dict[int, TurnInput]:
    """`next_turn` for many conversations in two statements; those with nothing pending
    are left out."""
    heads = list(await session.execute(_HEADS, {"ids": padded(conversation_ids)}))
    if not heads:
        return {}
    customer_ids = sorted({h.customer_id for h in heads})
    identities: dict[int, list[Row[Any]]] = {cid: [] for cid in customer_ids}
    for identity in await session.execute(_IDENTITIES_BY_CUSTOMER, {"ids": padded(customer_ids)}):
        identities[identity.customer_id].append(identity)
    return {
        h.conversation_id: TurnInput(
            h,
            ConversationInput(
                h.conv_id, h.conv_state, h.conv_dialog, h.conv_last_channel, h.conv_last_inbound
            ),
            CustomerInput(h.cust_id, h.cust_display_name, h.cust_phone, h.cust_email),
            identities[h.customer_id],
        )
        for h in heads
    }


@dataclass(slots=True)
class TurnWrite:
    """What a finished bot turn commits: its message's status, replies, dialog state."""

    message_id: int
    conversation_id: int
    status: str
    replies: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]  # row, address, body
    dialog: dict[str, Any]
    now: datetime


async def write_turns(session: AsyncSession, turns: list[TurnWrite]) -> list[list[int] | None]:
    """Commit many turns in a few statements. Per turn: its reply ids, or None when another
    worker answered the message already (nothing is written for it)."""
    # Each message is answered once, even if two turns for it meet in one batch (a merge
    # can move a pending message to a conversation whose turn is already running): the
    # first one in the batch is written, with its own status, replies and dialog.
    first: dict[int, TurnWrite] = {}
    for turn in turns:
        first.setdefault(turn.message_id, turn)
    candidates = list(first.values())
    finished: set[int] = set()
    for status in sorted({t.status for t in candidates}):
        ids = [t.message_id for t in candidates if t.status == status]
        result = await session.execute(_FINISH_TURNS, {"ids": padded(ids), "status": status})
        finished.update(result.scalars())
    done = [t for t in candidates if t.message_id in finished]
    answered = {id(t) for t in done}
    rows = [reply for t in done for reply in t.replies]
    reply_ids: list[int] = []
    if rows:
        values = [row for row, _, _ in rows]
        if is_postgres(session):
            reply_ids = list((await session.execute(_INSERT_MESSAGES, values)).scalars())
        else:
            reply_ids = sorted((await session.execute(_INSERT_MESSAGES_SQLITE, values)).scalars())
        await session.execute(
            _INSERT_OUTBOX,
            [
                _outbox_row(message_id, row, address, body)
                for message_id, (row, address, body) in zip(reply_ids, rows, strict=True)
            ],
        )
    if done:
        # In conversation order, so concurrent transactions lock rows in one order.
        await session.execute(
            _SAVE_DIALOG,
            [
                {"cid": t.conversation_id, "dialog": t.dialog, "now": t.now}
                for t in sorted(done, key=lambda t: t.conversation_id)
            ],
        )
    results: list[list[int] | None] = []
    ids = iter(reply_ids)
    for turn in turns:
        if id(turn) in answered:
            results.append([next(ids) for _ in turn.replies])
        else:
            results.append(None)
    return results


def _outbox_row(
    message_id: int, message: dict[str, Any], address: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """The outbox row of a reply (due when the reply was written)."""
    return outbox.row_values(
        message_id, message["conversation_id"], address, body, message["created_at"]
    )
