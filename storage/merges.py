"""Customer merges that can be undone exactly: every moved row's previous owner is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import (
    ConversationRow,
    CustomerRow,
    IdentityRow,
    MergeRow,
    MessageRow,
    OutboxRow,
)

OPEN = ("bot", "queued", "agent")
_PROFILE = ("display_name", "email", "phone", "phone_verified", "email_verified")


class MergeError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _profile(customer: CustomerRow) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in _PROFILE}


async def merge(
    session: AsyncSession,
    survivor_id: int,
    other_id: int,
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> MergeRow:
    """Move everything of `other_id` under `survivor_id`.

    The other customer's open thread joins the survivor's open thread (so the survivor's
    dialog goes on), or becomes the survivor's thread when it has none.
    """
    if survivor_id == other_id:
        raise MergeError(400, "cannot merge a customer with itself")
    survivor = await session.get(CustomerRow, survivor_id, with_for_update=True)
    other = await session.get(CustomerRow, other_id, with_for_update=True)
    if survivor is None or other is None:
        raise MergeError(404, "no such customer")
    for customer in (survivor, other):
        if customer.merged_into is not None or customer.erased_at is not None:
            raise MergeError(409, f"customer {customer.id} was merged or erased")
    moved: dict[str, Any] = {
        "identities": [],
        "conversations": [],
        "messages": [],
        "outbox": [],
        "survivor_profile": _profile(survivor),
    }

    identities = await session.scalars(
        select(IdentityRow).where(IdentityRow.customer_id == other_id)
    )
    for identity in identities:
        moved["identities"].append([identity.id, other_id, identity.link_reason, identity.verified])
        identity.customer_id = survivor_id

    survivor_open = await _open_conversation(session, survivor_id)
    conversations = await session.scalars(
        select(ConversationRow).where(ConversationRow.customer_id == other_id)
    )
    for conversation in list(conversations):
        moved["conversations"].append(
            [conversation.id, other_id, conversation.state, _iso(conversation.closed_at)]
        )
        if conversation.state in OPEN and survivor_open is not None:
            # Two open threads cannot coexist: the other's messages join the survivor's.
            rows = await session.scalars(
                select(MessageRow).where(MessageRow.conversation_id == conversation.id)
            )
            for message in rows:
                moved["messages"].append([message.id, message.customer_id, conversation.id])
                message.conversation_id = survivor_open.id
                message.customer_id = survivor_id
            outbox_rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.conversation_id == conversation.id)
            )
            for row in outbox_rows:
                moved["outbox"].append([row.id, conversation.id])
                row.conversation_id = survivor_open.id
            conversation.state = "closed"
            conversation.closed_at = now
            await session.flush()  # the partial unique index must see it closed first
        conversation.customer_id = survivor_id
    await session.flush()

    rest = await session.scalars(select(MessageRow).where(MessageRow.customer_id == other_id))
    for message in rest:
        moved["messages"].append([message.id, other_id, message.conversation_id])
        message.customer_id = survivor_id

    for field in ("display_name", "email", "phone"):
        if not getattr(survivor, field) and getattr(other, field):
            setattr(survivor, field, getattr(other, field))
    survivor.phone_verified = survivor.phone_verified or (
        other.phone_verified and survivor.phone == other.phone
    )
    survivor.email_verified = survivor.email_verified or (
        other.email_verified and survivor.email == other.email
    )
    survivor.updated_at = now
    other.merged_into = survivor_id
    other.updated_at = now

    row = MergeRow(
        customer_id=survivor_id,
        other_id=other_id,
        reason=reason,
        actor=actor,
        moved=moved,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def undo(session: AsyncSession, merge_id: int, now: datetime) -> MergeRow:
    """Put both customers back exactly as they were before the merge."""
    row = await session.get(MergeRow, merge_id, with_for_update=True)
    if row is None:
        raise MergeError(404, "no such merge")
    if row.undone_at is not None:
        raise MergeError(409, "merge already undone")
    later = await session.scalar(
        select(MergeRow.id).where(
            MergeRow.id > row.id,
            MergeRow.undone_at.is_(None),
            (MergeRow.other_id == row.customer_id) | (MergeRow.other_id == row.other_id),
        )
    )
    if later is not None:
        raise MergeError(409, f"undo merge {later} first: it moved one of these customers")
    moved = row.moved
    for identity_id, customer_id, link_reason, verified in moved["identities"]:
        # How it was linked is restored too: a link made by the merge is undone with it.
        await session.execute(
            update(IdentityRow)
            .where(IdentityRow.id == identity_id)
            .values(customer_id=customer_id, link_reason=link_reason, verified=verified)
        )
    for message_id, customer_id, conversation_id in moved["messages"]:
        await session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(customer_id=customer_id, conversation_id=conversation_id)
        )
    for outbox_id, conversation_id in moved["outbox"]:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == outbox_id)
            .values(conversation_id=conversation_id)
        )
    for conversation_id, customer_id, state, closed_at in moved["conversations"]:
        await session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(
                customer_id=customer_id,
                state=state,
                closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
            )
        )
    survivor = await session.get(CustomerRow, row.customer_id)
    other = await session.get(CustomerRow, row.other_id)
    assert survivor is not None and other is not None
    for field, value in moved["survivor_profile"].items():
        setattr(survivor, field, value)
    survivor.updated_at = now
    other.merged_into = None
    other.updated_at = now
    row.undone_at = now
    await session.flush()
    return row


async def _open_conversation(session: AsyncSession, customer_id: int) -> ConversationRow | None:
    return await session.scalar(
        select(ConversationRow).where(
            ConversationRow.customer_id == customer_id, ConversationRow.state.in_(OPEN)
        )
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
