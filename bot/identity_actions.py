"""Identity actions a handler (or the API) may take: deep-link codes and phone verification."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import Address, utcnow
from bot.phones import normalize_phone
from bot.settings import Settings
from storage import customers, links, merges
from storage.dialect import insert_ignoring_conflicts
from storage.tables import CustomerRow, IdentityRow

log = logging.getLogger("omnigate.identity")


class LinkUnavailable(Exception):
    """The channel to link is not configured (no bot username, no WhatsApp number)."""


class IdentityActions:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    def link_url(self, channel: str, code: str) -> str:
        if channel == "telegram":
            if not self._settings.telegram_bot_username:
                raise LinkUnavailable("set OMNIGATE_TELEGRAM_BOT_USERNAME")
            return f"https://t.me/{self._settings.telegram_bot_username.lstrip('@')}?start={code}"
        if channel == "whatsapp":
            number = self._settings.whatsapp_number or self._settings.twilio_whatsapp_from
            digits = "".join(ch for ch in number if ch.isdigit())
            if not digits:
                raise LinkUnavailable("set OMNIGATE_WHATSAPP_NUMBER")
            return f"https://wa.me/{digits}?text={quote(code)}"
        raise LinkUnavailable(f"no deep links for {channel}")

    async def create_link_code(self, customer_id: int, channel: str) -> dict[str, Any]:
        """A one-time, expiring code (and its URL) to continue on another channel."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            row = await links.create_code(
                session,
                purpose="deeplink",
                customer_id=customer_id,
                channel=channel,
                ttl=self._settings.link_code_ttl,
                now=now,
            )
            url = self.link_url(channel, row.code)
            links.audit(session, "link_code_created", customer_id, now, channel=channel)
        return {"code": row.code, "url": url, "expires_at": row.expires_at.isoformat()}

    def otp_address(self, phone: str) -> Address | None:
        """Where a verification code for `phone` can be sent: SMS through Twilio."""
        if self._settings.twilio_account_sid and self._settings.twilio_sms_from:
            return Address("sms", "twilio", self._settings.twilio_sms_from, phone)
        return None

    async def start_phone_verification(
        self, customer_id: int, raw_phone: str
    ) -> tuple[str, Address] | None:
        """A one-time password for `raw_phone`; None when the number is invalid or unreachable."""
        phone = normalize_phone(raw_phone, self._settings.default_region)
        address = self.otp_address(phone) if phone else None
        if phone is None or address is None:
            return None
        async with self._sessions() as session, session.begin():
            row = await links.create_code(
                session,
                purpose="otp",
                customer_id=customer_id,
                channel="sms",
                ttl=self._settings.otp_ttl,
                now=utcnow(),
                target=phone,
            )
        return row.code.split(":", 1)[0], address

    async def confirm_phone(self, customer_id: int, otp: str) -> str | None:
        """Link the verified phone to `customer_id`; returns the phone, or None if wrong."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            row = await links.check_otp(session, customer_id, otp.strip(), now)
            if row is None:
                return None
            phone = row.target
            owner = await links.phone_owner(session, phone)
            if owner is not None and owner != customer_id:
                # The customer in this conversation stays; the phone's history joins it.
                record = await merges.merge(
                    session, customer_id, owner, reason="otp_verified", actor="system", now=now
                )
                links.audit(
                    session,
                    "merge",
                    customer_id,
                    now,
                    other_id=owner,
                    reason="otp_verified",
                    merge_id=record.id,
                )
            elif owner is None:
                await self._add_phone_identity(session, customer_id, phone, now)
            customer = await session.get(CustomerRow, customer_id)
            assert customer is not None
            if not customer.phone or not customer.phone_verified:
                customer.phone = phone
                customer.phone_verified = True
            links.audit(session, "phone_verified", customer_id, now, via="otp")
        return phone

    async def _add_phone_identity(
        self, session: AsyncSession, customer_id: int, phone: str, now: datetime
    ) -> None:
        address = self.otp_address(phone)
        await session.execute(
            insert_ignoring_conflicts(session, IdentityRow).values(
                customer_id=customer_id,
                channel="sms",
                external_id=phone,
                verified=True,
                link_reason="otp_verified",
                address=address.to_dict() if address else None,
                display_name="",
                unreachable=False,
                opt_source="",
                created_at=now,
            )
        )
        assert await customers.find_identity(session, "sms", phone) is not None
