"""Conversations: one open thread per customer, across channels."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignoring_conflicts, is_postgres, not_indexed, padded
from storage.tables import ConversationRow

OPEN_STATES = ("bot", "queued", "agent")


async def open_conversation(
    session: AsyncSession, customer_id: int, now: datetime
) -> ConversationRow:
    """The customer's open conversation, started (with the bot) if there is none."""
    found = await find_open(session, customer_id)
    if found is not None:
        return found
    return await _start_conversation(session, customer_id, now)


@dataclass(slots=True)
class OpenThread:
    """An open conversation as ingest needs it: which one, and where the customer last wrote.

    Plain data (no ORM object to track and flush): ingest touches many at once, then writes
    the touched ones in one statement (`write_touched`).
    """

    id: int
    customer_id: int
    last_inbound: dict[str, Any]
    last_channel: str
    touched_at: datetime | None = None
    # The channels touched here: only these are written, merged into the row's current value.
    touched: dict[str, str] = field(default_factory=dict)

    def touch_inbound(self, channel: str, now: datetime) -> None:
        """The customer wrote on `channel` at `now` (handlers and the console see it; reply
        windows go by the identity's own last inbound time)."""
        self.touched[channel] = now.isoformat()
        self.last_inbound = {**self.last_inbound, **self.touched}
        self.last_channel = channel
        self.touched_at = now


async def open_threads(
    session: AsyncSession, customer_ids: list[int], now: datetime
) -> dict[int, OpenThread]:
    """Each customer's open conversation, started for those without: one SELECT, then an
    INSERT for each customer without and one SELECT for all of those."""
    if not customer_ids:
        return {}
    found = await _open_threads(session, customer_ids)
    missing = [cid for cid in customer_ids if cid not in found]
    for customer_id in missing:
        await session.execute(_start_statement(session, customer_id, now))
    if missing:
        found.update(await _open_threads(session, missing))
    return found


async def _open_threads(session: AsyncSession, customer_ids: list[int]) -> dict[int, OpenThread]:
    rows = await session.execute(_FIND_OPEN_THREADS, {"cids": padded(customer_ids)})
    return {
        row.customer_id: OpenThread(
            row.id, row.customer_id, row.last_inbound or {}, row.last_channel or ""
        )
        for row in rows
    }


async def write_touched(session: AsyncSession, threads: Iterable[OpenThread]) -> None:
    """Write the touched threads' last inbound times, in id order (so that concurrent
    transactions lock conversation rows in one order).

    The touched channels are merged into the row's value in SQL, not written over what was
    read: another worker may have touched another channel of the same thread since.
    """
    touched = sorted((t for t in threads if t.touched_at is not None), key=lambda t: t.id)
    if touched:
        await session.execute(
            _TOUCH["postgresql" if is_postgres(session) else "sqlite"],
            [
                {
                    "cid": t.id,
                    "touched": json.dumps(t.touched),
                    "channel": t.last_channel,
                    "now": t.touched_at,
                }
                for t in touched
            ],
        )


async def _start_conversation(
    session: AsyncSession, customer_id: int, now: datetime
) -> ConversationRow:
    await session.execute(_start_statement(session, customer_id, now))
    found = await find_open(session, customer_id)
    assert found is not None
    return found


def _start_statement(session: AsyncSession, customer_id: int, now: datetime) -> Any:
    # The partial unique index lets only one open conversation exist per customer.
    return insert_ignoring_conflicts(session, ConversationRow).values(
        customer_id=customer_id,
        state="bot",
        handoff_reason="",
        team="",
        dialog={},
        last_inbound={},
        last_channel="",
        created_at=now,
        updated_at=now,
    )


_FIND_OPEN = select(ConversationRow).where(
    ConversationRow.customer_id == bindparam("cid"), ConversationRow.state.in_(OPEN_STATES)
)


_CONVERSATIONS = ConversationRow.__table__
_FIND_OPEN_THREADS = select(
    _CONVERSATIONS.c.id,
    _CONVERSATIONS.c.customer_id,
    _CONVERSATIONS.c.last_inbound,
    _CONVERSATIONS.c.last_channel,
).where(
    _CONVERSATIONS.c.customer_id.in_(bindparam("cids", expanding=True)),
    not_indexed(_CONVERSATIONS.c.state).in_(OPEN_STATES),
)
# The touched channels' times merged into the row's own (a JSON object of channel -> time;
# anything else stored there, such as a JSON null, counts as empty, as json_patch does).
_MERGED_LAST_INBOUND = {
    "postgresql": "((CASE jsonb_typeof(conversations.last_inbound::jsonb)"
    " WHEN 'object' THEN conversations.last_inbound::jsonb ELSE '{}'::jsonb END)"
    " || CAST(:touched AS jsonb))::json",
    "sqlite": "json_patch(conversations.last_inbound, :touched)",
}
# Bound parameters are not named after columns (SQLAlchemy keeps those names for itself).
_TOUCH = {
    dialect: update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("cid"))
    .values(
        last_inbound=text(merged).bindparams(bindparam("touched", type_=String)),
        last_channel=bindparam("channel"),
        updated_at=bindparam("now"),
    )
    for dialect, merged in _MERGED_LAST_INBOUND.items()
}


async def find_open(session: AsyncSession, customer_id: int) -> ConversationRow | None:
    return await session.scalar(_FIND_OPEN, {"cid": customer_id})


async def lock_conversation(session: AsyncSession, conversation_id: int) -> ConversationRow | None:
    """Read a conversation for update (row lock on PostgreSQL; SQLite has one writer)."""
    query = select(ConversationRow).where(ConversationRow.id == conversation_id)
    if is_postgres(session):
        query = query.with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar()
