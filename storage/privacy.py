"""KVKK/GDPR: export everything held on a customer, and erase it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import (
    AuditRow,
    ConversationRow,
    CustomerRow,
    IdentityRow,
    LinkCodeRow,
    MergeRow,
    MessageRow,
    OutboxRow,
)


async def conversations_of(session: AsyncSession, customer_id: int) -> list[ConversationRow]:
    rows = await session.scalars(
        select(ConversationRow)
        .where(ConversationRow.customer_id == customer_id)
        .order_by(ConversationRow.id)
    )
    return list(rows)


async def merges_of(session: AsyncSession, customer_id: int) -> list[MergeRow]:
    rows = await session.scalars(
        select(MergeRow)
        .where(or_(MergeRow.customer_id == customer_id, MergeRow.other_id == customer_id))
        .order_by(MergeRow.id)
    )
    return list(rows)


async def audit_of(session: AsyncSession, customer_id: int) -> list[AuditRow]:
    rows = await session.scalars(
        select(AuditRow).where(AuditRow.customer_id == customer_id).order_by(AuditRow.id)
    )
    return list(rows)


async def erase(session: AsyncSession, customer_id: int, now: datetime) -> dict[str, Any]:
    """Remove personal data; keep anonymous rows so counts and foreign keys stay whole."""
    message_ids = select(MessageRow.id).where(MessageRow.customer_id == customer_id)
    outbox = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.message_id.in_(message_ids), OutboxRow.status.in_(("pending", "held")))
        .values(status="failed", last_error="customer erased", body={}, address={})
    )
    await session.execute(
        update(OutboxRow).where(OutboxRow.message_id.in_(message_ids)).values(body={}, address={})
    )
    erased = await session.execute(
        update(MessageRow)
        .where(MessageRow.customer_id == customer_id)
        .values(
            text="",
            payload={},
            media=[],
            raw=None,
            address=None,
            error_message="",
            turn_status=None,
            updated_at=now,
        )
    )
    identities = await session.execute(
        delete(IdentityRow).where(IdentityRow.customer_id == customer_id)
    )
    await session.execute(delete(LinkCodeRow).where(LinkCodeRow.customer_id == customer_id))
    await session.execute(
        update(ConversationRow)
        .where(ConversationRow.customer_id == customer_id)
        .values(dialog={}, last_inbound={}, state="closed", closed_at=now)
    )
    # Merge records keep ids only, but the survivor's profile snapshot holds personal data.
    for record in await merges_of(session, customer_id):
        moved = dict(record.moved)
        moved["survivor_profile"] = {k: None for k in moved.get("survivor_profile", {})}
        record.moved = moved
    await session.execute(
        update(CustomerRow)
        .where(CustomerRow.id == customer_id)
        .values(
            display_name="",
            email="",
            phone="",
            phone_verified=False,
            email_verified=False,
            erased_at=now,
            updated_at=now,
        )
    )
    return {
        "messages": erased.rowcount,
        "identities": identities.rowcount,
        "outbox_cancelled": outbox.rowcount,
    }
