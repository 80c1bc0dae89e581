"""Channel rules decided just before a send: opt-outs and the WhatsApp 24-hour window.

Outside the window free text is never sent and never dropped: a configured re-engagement
template goes out instead (the message waits for the customer's answer), or the message moves
to another channel the customer is reachable on, or it is held with a visible status until the
customer writes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Capabilities
from bot.model import Address, Outbound, Template
from bot.optout import CONFIRMATION_INTENTS, OPT_CHANNELS
from bot.settings import Settings
from storage import messages
from storage.dialect import padded
from storage.tables import IdentityRow, MessageRow

# Providers' codes for "free text outside the customer-service window".
WINDOW_CLOSED_CODES = frozenset({"63016", "131047"})
# Marker in outbox.last_error: the provider said the window is closed, whatever our clock says.
PROVIDER_SAID_CLOSED = "window_closed_by_provider"
# Channels whose providers enforce a customer-service window (free text only within it).
WINDOW_CHANNELS = frozenset({"whatsapp"})
# Channels without a reply window, best first, when a message has to move.
REROUTE_PREFERENCE = ("telegram", "sms", "whatsapp", "webchat")


@dataclass(frozen=True, slots=True)
class Plan:
    action: Literal["send", "hold", "fail", "reroute"]
    address: Address
    code: str = ""
    reason: str = ""
    template: Template | None = None


def needs_planning(address: Address, capabilities: Capabilities) -> bool:
    """Only opt-out channels and channels with a reply window have rules to apply."""
    return address.channel in OPT_CHANNELS or capabilities.session_window is not None


def reengagement_template(settings: Settings, address: Address, language: str) -> Template | None:
    if address.provider == "whatsapp_cloud" and settings.whatsapp_reengage_template:
        return Template(name=settings.whatsapp_reengage_template, language=language)
    if address.provider == "twilio" and settings.whatsapp_reengage_content_sid:
        return Template(
            name="reengage", language=language, content_sid=settings.whatsapp_reengage_content_sid
        )
    return None


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the rules read before a send: the message's customer and, of the identity it goes
    to, two columns (not the row with its JSON). No such identity reads as None, None."""

    customer_id: int
    opted_out_at: datetime | None = None
    last_inbound_at: datetime | None = None


_IDENTITIES = IdentityRow.__table__
_REACH = select(
    _IDENTITIES.c.channel,
    _IDENTITIES.c.external_id,
    _IDENTITIES.c.opted_out_at,
    _IDENTITIES.c.last_inbound_at,
).where(
    _IDENTITIES.c.channel.in_(bindparam("channels", expanding=True)),
    _IDENTITIES.c.external_id.in_(bindparam("external_ids", expanding=True)),
)


async def recipients(session: AsyncSession, sends: dict[int, Address]) -> dict[int, Recipient]:
    """message id -> its Recipient, for many sends in two statements; a message that is gone
    (erased) is left out."""
    if not sends:
        return {}
    owners = await messages.customers_of(session, list(sends))
    pairs = {(address.channel, address.chat_id) for address in sends.values()}
    rows = await session.execute(
        _REACH,
        {
            "channels": padded(sorted({channel for channel, _ in pairs})),
            "external_ids": padded(sorted({external_id for _, external_id in pairs})),
        },
    )
    reach = {(row.channel, row.external_id): row for row in rows}
    found: dict[int, Recipient] = {}
    for message_id, address in sends.items():
        customer_id = owners.get(message_id)
        if customer_id is None:
            continue
        identity = reach.get((address.channel, address.chat_id))
        found[message_id] = (
            Recipient(customer_id, identity.opted_out_at, identity.last_inbound_at)
            if identity is not None
            else Recipient(customer_id)
        )
    return found


def quick_plan(
    recipient: Recipient,
    address: Address,
    outbound: Outbound,
    capabilities: Capabilities,
    now: datetime,
    *,
    provider_said_closed: bool = False,
) -> Plan | None:
    """Send, or fail for an opt-out: decided from the recipient alone. None when the reply
    window is closed: what happens then is plan_delivery's (it reads and writes more)."""
    if (
        address.channel in OPT_CHANNELS
        and outbound.intent not in CONFIRMATION_INTENTS
        and recipient.opted_out_at is not None
    ):
        return Plan("fail", address, "opted_out", f"the customer opted out of {address.channel}")
    window = capabilities.session_window
    if window is None or outbound.template is not None:
        return Plan("send", address)
    last = recipient.last_inbound_at
    if not provider_said_closed and last is not None and now - last <= window:
        return Plan("send", address)
    return None


async def plan_delivery(
    session: AsyncSession,
    recipient: Recipient,
    address: Address,
    outbound: Outbound,
    capabilities: Capabilities,
    settings: Settings,
    now: datetime,
    *,
    provider_said_closed: bool = False,
) -> Plan:
    plan = quick_plan(
        recipient, address, outbound, capabilities, now, provider_said_closed=provider_said_closed
    )
    if plan is not None:
        return plan
    template = reengagement_template(settings, address, _language(outbound))
    reason = f"{address.channel} 24-hour window closed"
    if template is not None:
        return Plan(
            "hold",
            address,
            "window_closed",
            reason + "; re-engagement template sent, message waits for the customer's reply",
            template,
        )
    other = await _other_reachable(session, recipient.customer_id, address.channel)
    if other is not None:
        return Plan("reroute", other, "window_closed", reason + f"; moved to {other.channel}")
    return Plan("hold", address, "window_closed", reason + "; held until the customer writes again")


async def template_sent_since(
    session: AsyncSession, customer_id: int, channel: str, since: datetime | None
) -> bool:
    """A re-engagement template already went out since the customer last wrote (no spam)."""
    query = select(MessageRow.id).where(
        MessageRow.customer_id == customer_id,
        MessageRow.channel == channel,
        MessageRow.kind == "template",
    )
    if since is not None:
        query = query.where(MessageRow.created_at > since)
    return (await session.scalar(query.limit(1))) is not None


async def _other_reachable(session: AsyncSession, customer_id: int, channel: str) -> Address | None:
    rows = await session.scalars(
        select(IdentityRow).where(
            IdentityRow.customer_id == customer_id,
            IdentityRow.channel != channel,
            IdentityRow.unreachable.is_(False),
            IdentityRow.opted_out_at.is_(None),
            IdentityRow.address.is_not(None),
        )
    )
    candidates = [r for r in rows if r.channel in REROUTE_PREFERENCE[:-2] or r.channel == "webchat"]
    candidates.sort(key=lambda r: REROUTE_PREFERENCE.index(r.channel))
    return Address.from_dict(candidates[0].address) if candidates else None


def _language(outbound: Outbound) -> str:
    return str(outbound.meta.get("language") or "tr")
