"""The core's side of the web chat: what the WebSocket handler may ask of the gateway."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gateway import Gateway
from bot.model import Address, Event, utcnow
from bot.views import message_json
from storage import customers, messages
from storage.coordination import Coordination, Subscription

HISTORY_LIMIT = 200


class WebchatHostImpl:
    def __init__(
        self,
        gateway: Gateway,
        sessions: async_sessionmaker[AsyncSession],
        coordination: Coordination,
    ) -> None:
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

    async def publish(self, topic: str, message: dict[str, Any]) -> int:
        return await self._coordination.publish(topic, message)

    async def subscribe(self, topic: str) -> Subscription:
        return await self._coordination.subscribe(topic)

    async def allow(self, key: str, limit: int, window: float) -> bool:
        return await self._coordination.hit(key, limit, window)
