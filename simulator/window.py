"""Simulation control: age a customer's WhatsApp 24-hour window (pretend they wrote long ago).

Sets the WhatsApp identity's last inbound time (and the open conversation's record of it)
back by `hours` in the database, and tells the simulated providers the window is closed, as
Meta and Twilio would know. The next free-form message to that number is then held, moved to
another channel or replaced by a template, as the gateway's channel rules decide. The
customer's next WhatsApp message opens the window again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import utcnow
from simulator.providers import SimulatedProviders
from storage import conversations, customers
from storage.tables import IdentityRow

WINDOW_HOURS = 24


async def age_whatsapp_window(
    sessions: async_sessionmaker[AsyncSession],
    providers: SimulatedProviders,
    phone: str,
    hours: float,
) -> dict[str, Any] | None:
    """None when nobody wrote from `phone` on WhatsApp yet (there is no window to age)."""
    aged = utcnow() - timedelta(hours=hours)
    async with sessions() as session, session.begin():
        identity = await customers.find_identity(session, "whatsapp", phone)
        if identity is None:
            return None
        await session.execute(
            update(IdentityRow).where(IdentityRow.id == identity.id).values(last_inbound_at=aged)
        )
        conversation = await conversations.find_open(session, identity.customer_id)
        if conversation is not None and "whatsapp" in (conversation.last_inbound or {}):
            conversation.last_inbound = {**conversation.last_inbound, "whatsapp": aged.isoformat()}
    closed = hours >= WINDOW_HOURS
    if closed:
        providers.graph.closed_window.add(phone.lstrip("+"))
        providers.twilio.closed_window.add(phone)
    return {
        "phone": phone,
        "customer_id": identity.customer_id,
        "last_inbound_at": aged.isoformat(),
        "window_open": not closed,
    }
