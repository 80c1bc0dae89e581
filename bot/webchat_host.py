"""The core's side of the web chat: what the WebSocket handler may ask of the gateway."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gateway import Gateway
from bot.identity import IdentityRefused, WebchatClaims, sign_webchat_claims
from bot.model import Address, Event, utcnow
from bot.phones import normalize_phone
from bot.settings import Settings
from bot.views import message_json
from storage import customers, links, merges, messages
from storage.coordination import Coordination, Subscription
from storage.tables import IdentityRow

HISTORY_LIMIT = 200


class WebchatHostImpl:
    def __init__(
        self,
        gateway: Gateway,
        sessions: async_sessionmaker[AsyncSession],
        coordination: Coordination,
        settings: Settings,
    ) -> None:
        self._settings = settings
        self._gateway = gateway
        self._sessions = sessions
        self._coordination = coordination

    async def ingest(self, events: list[Event]) -> list[Any]:
        return await self._gateway.ingest(events)

    async def open_session(self, session_id: str) -> int:
        async with self._sessions() as session, session.begin():
            identity = await customers.find_identity(session, "webchat", session_id)
            if identity is None:
                identity = await customers.resolve_identity(
                    session,
                    "webchat",
                    session_id,
                    now=utcnow(),
                    address=Address("webchat", "webchat", "web", session_id).to_dict(),
                )
            return identity.customer_id

    async def history(self, session_id: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            identity = await customers.find_identity(session, "webchat", session_id)
            if identity is None:
                return []
            rows = await messages.transcript(
                session, identity.customer_id, HISTORY_LIMIT, include_notes=False
            )
        return [message_json(row) for row in rows]

    async def identify(self, session_id: str, claims: dict[str, Any]) -> int:
        """Link the session to the brand's signed user; raises IdentityRefused if unsigned."""
        secret = self._settings.webchat_identity_secret
        if not secret:
            raise IdentityRefused("identity verification is not enabled on this gateway")
        fields = {k: str(claims.get(k) or "") for k in ("user_id", "email", "phone", "name")}
        signed = WebchatClaims(**fields, signature=str(claims.get("signature") or ""))
        expected = sign_webchat_claims(secret, signed)
        if not signed.signature or not hmac.compare_digest(expected, signed.signature.lower()):
            raise IdentityRefused("invalid identity signature")
        if not (signed.user_id or signed.email or signed.phone):
            raise IdentityRefused("an identity needs a user_id, email or phone")
        phone = (
            normalize_phone(signed.phone, self._settings.default_region) if signed.phone else None
        )
        if signed.phone and phone is None:
            raise IdentityRefused("invalid phone number")
        now = utcnow()
        async with self._sessions() as session, session.begin():
            own = await customers.find_identity(session, "webchat", session_id)
            if own is None:
                raise IdentityRefused("unknown session")
            current = own.customer_id
            target: int | None = None
            user_key = f"user:{signed.user_id}" if signed.user_id else ""
            if user_key:
                known = await customers.find_identity(session, "webchat", user_key)
                target = known.customer_id if known else None
            if target is None and signed.email:
                target = await links.email_owner(session, signed.email.lower())
            if target is None and phone:
                target = await links.phone_owner(session, phone)
            if target is not None and target != current:
                # The brand's long-lived customer stays; this visit's thread joins it.
                record = await merges.merge(
                    session, target, current, reason="signed_identity", actor="webchat", now=now
                )
                links.audit(
                    session,
                    "merge",
                    target,
                    now,
                    other_id=current,
                    reason="signed_identity",
                    merge_id=record.id,
                )
            survivor = target or current
            if user_key and await customers.find_identity(session, "webchat", user_key) is None:
                session.add(
                    IdentityRow(
                        customer_id=survivor,
                        channel="webchat",
                        external_id=user_key,
                        verified=True,
                        link_reason="signed_identity",
                        display_name=signed.name,
                        unreachable=False,
                        opt_source="",
                        created_at=now,
                    )
                )
            customer = await customers.get_customer(session, survivor)
            assert customer is not None
            if signed.email:
                customer.email, customer.email_verified = signed.email.lower(), True
            if phone:
                customer.phone, customer.phone_verified = phone, True
            if signed.name and not customer.display_name:
                customer.display_name = signed.name
            customer.updated_at = now
            links.audit(
                session,
                "identity_linked",
                survivor,
                now,
                channel="webchat",
                reason="signed_identity",
            )
        return survivor

    async def publish(self, topic: str, message: dict[str, Any]) -> int:
        return await self._coordination.publish(topic, message)

    async def subscribe(self, topic: str) -> Subscription:
        return await self._coordination.subscribe(topic)

    async def allow(self, key: str, limit: int, window: float) -> bool:
        return await self._coordination.hit(key, limit, window)
