"""Provider status callbacks -> a message's delivery status, in rank order.

A provider may post a status before its API has answered our send (Twilio and Meta both do
under load): the message does not carry that provider id yet. Such an early status is parked
and applied the moment the send's answer is recorded, so no status is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery_rules import PROVIDER_SAID_CLOSED, WINDOW_CLOSED_CODES
from bot.model import DELIVERY_RANK, Delivery
from storage import messages, outbox
from storage.dialect import insert_ignoring_conflicts, padded
from storage.tables import KeyValue, MessageRow

_EARLY = "early-status:"
EARLY_TTL = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StatusResult:
    message_id: int | None  # the message that moved forward, if any
    reopened: bool = False  # the window was closed: the message goes back to be planned again
    parked: bool = False  # no such message yet: kept for when the send's answer arrives


async def record_status(
    session: AsyncSession,
    channel: str,
    provider_message_id: str,
    status: str,
    *,
    error_code: str = "",
    error_message: str = "",
    now: datetime,
) -> StatusResult:
    changed = await messages.apply_status(
        session,
        channel,
        provider_message_id,
        status,
        DELIVERY_RANK,
        error_code=error_code,
        error_message=error_message,
        now=now,
    )
    if changed is None:
        known = await session.scalar(
            select(MessageRow.id).where(
                MessageRow.channel == channel,
                MessageRow.provider_message_id == provider_message_id,
            )
        )
        if known is None and status in DELIVERY_RANK:
            await _park(
                session, channel, provider_message_id, status, error_code, error_message, now
            )
            return StatusResult(None, parked=True)
        return StatusResult(None)
    reopened = (
        status == Delivery.FAILED
        and error_code in WINDOW_CLOSED_CODES
        and await outbox.reopen_for_window(session, changed, PROVIDER_SAID_CLOSED)
    )
    return StatusResult(changed, reopened=reopened)


_KV = KeyValue.__table__
# Takes the parked statuses of many sends at once; usually there are none (one statement).
_TAKE_PARKED = (
    delete(_KV)
    .where(_KV.c.key.in_(bindparam("keys", expanding=True)))
    .returning(_KV.c.key, _KV.c.value)
)


async def apply_parked_many(
    session: AsyncSession, sends: list[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], StatusResult]:
    """Apply statuses that arrived before their sends' answers (called once the provider ids
    are stored), for many (channel, provider message id): the results of those that had one."""
    keys = {
        f"{_EARLY}{channel}:{provider_id}": (channel, provider_id) for channel, provider_id in sends
    }
    if not keys:
        return {}
    taken = (await session.execute(_TAKE_PARKED, {"keys": padded(keys)})).all()
    results: dict[tuple[str, str], StatusResult] = {}
    for key, value in sorted(taken):
        channel, provider_id = keys[key]
        parked = json.loads(value)
        results[(channel, provider_id)] = await record_status(
            session,
            channel,
            provider_id,
            parked["status"],
            error_code=parked["error_code"],
            error_message=parked["error_message"],
            now=now,
        )
    return results


async def prune_parked(session: AsyncSession, now: datetime) -> int:
    """Statuses for ids that never became ours (another system's messages) expire."""
    rows = await session.scalars(select(KeyValue).where(KeyValue.key.like(f"{_EARLY}%")))
    stale = [
        r.key for r in rows if datetime.fromisoformat(json.loads(r.value)["at"]) < now - EARLY_TTL
    ]
    if stale:
        await session.execute(delete(KeyValue).where(KeyValue.key.in_(stale)))
    return len(stale)


async def _park(
    session: AsyncSession,
    channel: str,
    provider_message_id: str,
    status: str,
    error_code: str,
    error_message: str,
    now: datetime,
) -> None:
    key = f"{_EARLY}{channel}:{provider_message_id}"
    value = {
        "status": status,
        "error_code": error_code,
        "error_message": error_message,
        "at": now.isoformat(),
    }
    existing = await session.get(KeyValue, key, with_for_update=True)
    if existing is None:
        await session.execute(
            insert_ignoring_conflicts(session, KeyValue).values(key=key, value=json.dumps(value))
        )
        return
    # Several early statuses: keep the furthest along, as the message itself would.
    if DELIVERY_RANK[status] > DELIVERY_RANK.get(json.loads(existing.value)["status"], -1):
        existing.value = json.dumps(value)
