"""Live events for WebSocket clients (agent console, API consumers) over coordination pub/sub.

Events are small notices ("message 42 of conversation 7 changed"); a client that cares reads
the row through the API. In scale-out the topics live in Redis, so a client connected to any
worker hears what every worker ingests.

Publishing is best effort: events go out after the commit, the database stays the source of
truth, and pub/sub is at most once anyway. A coordination outage must not turn a message that
was stored into an error for the provider (which would retry it) or fail the turn after it.
"""

from __future__ import annotations

import logging
from typing import Any

from storage.coordination import Coordination

log = logging.getLogger("omnigate.events")

CONSOLE_TOPIC = "console"


def conversation_topic(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


class EventBus:
    def __init__(self, coordination: Coordination) -> None:
        self._coordination = coordination

    async def publish(self, conversation_id: int | None, event: dict[str, Any]) -> None:
        try:
            if conversation_id is None:
                await self._coordination.publish(CONSOLE_TOPIC, event)
            else:  # together: one round trip to Redis for both
                topics = (conversation_topic(conversation_id), CONSOLE_TOPIC)
                await self._coordination.publish_many(topics, event)
        except Exception as exc:
            log.warning("live event not published (%s): %s", event.get("type"), exc)

    async def message_changed(self, message_id: int, conversation_id: int | None = None) -> None:
        await self.publish(
            conversation_id,
            {"type": "message", "message_id": message_id, "conversation_id": conversation_id},
        )

    async def conversation_changed(self, conversation_id: int, state: str) -> None:
        await self.publish(
            conversation_id,
            {"type": "conversation", "conversation_id": conversation_id, "state": state},
        )
