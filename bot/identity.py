"""Identity resolution: which customer a sender is, by deterministic, explained, safe rules.

- SMS and WhatsApp from one number are one customer (the provider vouches for the number).
- A Telegram user sharing their OWN contact is linked to the customer with that phone.
- A web chat identity signed by the brand's site (HMAC) links; a bad signature is refused.
- A deep-link code used on a new channel joins that channel's identity to the customer.
- A claim nobody verified (a phone typed into the chat) never merges until an OTP proves it.

Every automatic link is recorded with its reason (identities.link_reason, merges, audit log).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import IdentityRefused, Inbound
from bot.phones import normalize_phone
from bot.settings import Settings
from storage import customers, links, merges
from storage.customers import KnownIdentity
from storage.dialect import insert_ignoring_conflicts
from storage.tables import CustomerRow, IdentityRow

log = logging.getLogger("omnigate.identity")

__all__ = ["IdentityRefused", "IdentityResolver", "WebchatClaims", "sign_webchat_claims"]

PHONE_CHANNELS = ("sms", "whatsapp")
# Upper case only: a code is pasted from a link, and an all-caps word is rarely one by chance.
LINK_CODE = re.compile(r"\b(OG[A-HJKMNP-Z2-9]{8})\b")


@dataclass(frozen=True, slots=True)
class WebchatClaims:
    user_id: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""
    signature: str = ""

    def signed_text(self) -> str:
        return f"user_id={self.user_id}&email={self.email}&phone={self.phone}"


def sign_webchat_claims(secret: str, claims: WebchatClaims) -> str:
    """What the brand's server computes (documented in the README)."""
    return hmac.new(secret.encode(), claims.signed_text().encode(), hashlib.sha256).hexdigest()


class IdentityResolver:
    """Runs inside the ingest transaction of each inbound message."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def sender_key(self, event: Inbound) -> tuple[str, str]:
        """The sender's identity row key: (channel, external id), a phone number in E.164."""
        external_id = event.external_id or event.address.chat_id
        return event.channel, self._phone(event.channel, external_id) or external_id

    def _phone(self, channel: str, external_id: str) -> str | None:
        if channel not in PHONE_CHANNELS:
            return None
        return normalize_phone(external_id, self._settings.default_region)

    async def resolve_senders(
        self, session: AsyncSession, events: list[Inbound], now: datetime
    ) -> list[IdentityRow | KnownIdentity]:
        """`resolve_sender` for the events of one transaction, given in sender key order.

        The usual message, a known sender writing plainly (no link code, no shared contact,
        the same address and name), costs nothing of its own: such senders are read in one
        SELECT and touched in one UPDATE. The others take the full path.

        Every sender's identity row is locked in sender key order, plain or not, so that
        concurrent batches wait for each other instead of deadlocking: a sender may be plain
        to one batch and take the full path in another (new when it looked, or a changed
        name). The plain senders before each full-path one are touched (locked) first.
        """
        keys = [self._canonical(event) for event in events]
        known = await customers.find_identities(session, keys)
        resolved: list[IdentityRow | KnownIdentity] = []
        plain: list[KnownIdentity] = []
        run: list[KnownIdentity] = []  # plain senders not yet touched
        for event, key in zip(events, keys, strict=True):
            identity = known.get(key)
            if identity is not None and self._plain(event, identity):
                plain.append(identity)
                run.append(identity)
                resolved.append(identity)
                continue
            await customers.touch_identities(session, run, now)
            run = []
            unknown = identity is None  # as of this transaction's look, a moment ago
            resolved.append(await self.resolve_sender(session, event, now, unknown=unknown))
        await customers.touch_identities(session, run, now)
        if len(plain) < len(events):
            # A merge on the full path may have moved a plain sender's identity to another
            # customer: the UPDATE (of rows this transaction holds) reports where each is now.
            await customers.touch_identities(session, plain, now)
        return resolved

    @staticmethod
    def _plain(event: Inbound, identity: KnownIdentity) -> bool:
        """Whether resolving this sender would change nothing but its last inbound time."""
        if event.extra.get("start_payload") or LINK_CODE.search(event.text or ""):
            return False
        contact = event.extra.get("contact")
        if isinstance(contact, dict) and contact.get("own"):
            return False
        if event.profile_name and event.profile_name != identity.display_name:
            return False
        address = event.address.to_dict()
        return not address or address == identity.address

    def _canonical(self, event: Inbound) -> tuple[str, str]:
        """The sender's identity key; a phone number is put in E.164 in the event's address
        too, so that replies go to the number in its canonical form."""
        channel, external_id = self.sender_key(event)
        if channel in PHONE_CHANNELS and external_id != event.address.chat_id:
            event.address = replace(event.address, chat_id=external_id)
        return channel, external_id

    async def resolve_sender(
        self, session: AsyncSession, event: Inbound, now: datetime, *, unknown: bool = False
    ) -> IdentityRow:
        """The sender's identity, found, linked or created (see the module's rules).

        `unknown`: the caller has just looked and found no identity, so it is not read again
        unless a link code needs it. If another transaction made it since, the steps below
        meet it (an insert that finds it there reads it).
        """
        channel = event.channel
        external_id = event.external_id or event.address.chat_id
        phone = self._phone(channel, external_id)
        if phone:
            external_id = phone
            # Reply to the number in its canonical form, whatever the provider wrote.
            event.address = replace(event.address, chat_id=phone)
        code_customer = await self._code_customer(session, event, now)
        identity = (
            None
            if unknown and code_customer is None
            else await customers.find_identity(session, channel, external_id)
        )
        if identity is None:
            target, reason = code_customer, "link_code"
            if target is None and channel in PHONE_CHANNELS:
                target, reason = await links.phone_owner(session, external_id), "same_phone"
            if target is not None:
                identity = await self._attach(session, target, event, external_id, reason, now)
        elif code_customer is not None and code_customer != identity.customer_id:
            await self._merge(session, code_customer, identity.customer_id, "link_code", now)
            await self._relabel(session, identity, "link_code")
        if identity is not None:
            identity = await customers.resolve_identity(
                session,
                channel,
                external_id,
                now=now,
                address=event.address.to_dict(),
                display_name=event.profile_name,
                known=identity,
            )
        else:
            identity = await customers.first_contact(
                session,
                channel,
                external_id,
                now=now,
                address=event.address.to_dict(),
                display_name=event.profile_name,
                verified=channel in PHONE_CHANNELS,
            ) or await self._made_meanwhile(session, event, external_id, now)
        contact = event.extra.get("contact")
        if isinstance(contact, dict) and contact.get("own"):
            identity = await self._shared_own_contact(session, identity, contact, now)
        return identity

    async def _made_meanwhile(
        self, session: AsyncSession, event: Inbound, external_id: str, now: datetime
    ) -> IdentityRow:
        """Another batch made this sender's identity since we looked: touch that one."""
        identity = await customers.resolve_identity(
            session,
            event.channel,
            external_id,
            now=now,
            address=event.address.to_dict(),
            display_name=event.profile_name,
        )
        if event.channel in PHONE_CHANNELS:
            await self._mark_phone(session, identity.customer_id, external_id)
        return identity

    async def _code_customer(
        self, session: AsyncSession, event: Inbound, now: datetime
    ) -> int | None:
        """A deep-link code in `/start <code>` or in the text: the customer it belongs to."""
        candidate = str(event.extra.get("start_payload") or "")
        found = LINK_CODE.search(candidate or event.text)
        if not found:
            if candidate.upper().startswith(links.CODE_PREFIX):
                event.extra["link_code_invalid"] = True
            return None
        row = await links.consume_link_code(session, found.group(1), event.channel, now)
        if row is None:
            event.extra["link_code_invalid"] = True
            return None
        event.extra["linked_by_code"] = True
        return row.customer_id

    async def _attach(
        self,
        session: AsyncSession,
        customer_id: int,
        event: Inbound,
        external_id: str,
        reason: str,
        now: datetime,
    ) -> IdentityRow | None:
        linked = await session.scalar(
            insert_ignoring_conflicts(session, IdentityRow)
            .values(
                customer_id=customer_id,
                channel=event.channel,
                external_id=external_id,
                verified=True,
                link_reason=reason,
                address=event.address.to_dict(),
                display_name=event.profile_name,
                unreachable=False,
                opt_source="",
                created_at=now,
            )
            .returning(IdentityRow)
        )
        if linked is None:  # another transaction made the identity first: read that one
            return await customers.find_identity(session, event.channel, external_id)
        links.audit(
            session, "identity_linked", customer_id, now, channel=event.channel, reason=reason
        )
        log.info("identity linked (%s)", reason, extra={"customer_id": customer_id})
        return linked

    async def _merge(
        self, session: AsyncSession, survivor: int, other: int, reason: str, now: datetime
    ) -> None:
        record = await merges.merge(
            session, survivor, other, reason=reason, actor="system", now=now
        )
        links.audit(
            session, "merge", survivor, now, other_id=other, reason=reason, merge_id=record.id
        )
        log.info("customers merged (%s)", reason, extra={"customer_id": survivor})

    @staticmethod
    async def _relabel(session: AsyncSession, identity: IdentityRow, reason: str) -> None:
        """The identity now belongs to its customer because of `reason`, not a first contact."""
        await session.execute(
            update(IdentityRow)
            .where(IdentityRow.id == identity.id)
            .values(link_reason=reason, verified=True)
        )

    async def _mark_phone(self, session: AsyncSession, customer_id: int, phone: str) -> None:
        await session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id, CustomerRow.phone.in_(("", phone)))
            .values(phone=phone, phone_verified=True)
        )

    async def _shared_own_contact(
        self, session: AsyncSession, identity: IdentityRow, contact: dict[str, Any], now: datetime
    ) -> IdentityRow:
        phone = normalize_phone(str(contact.get("phone_number", "")), self._settings.default_region)
        if phone is None:
            return identity
        owner = await links.phone_owner(session, phone)
        if owner is not None and owner != identity.customer_id:
            await self._merge(session, owner, identity.customer_id, "shared_contact", now)
            await self._relabel(session, identity, "shared_contact")
        elif owner is None:
            await self._mark_phone(session, identity.customer_id, phone)
            links.audit(session, "phone_verified", identity.customer_id, now, via="shared_contact")
        refreshed = await customers.find_identity(session, identity.channel, identity.external_id)
        assert refreshed is not None
        return refreshed
