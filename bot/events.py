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


class EventBus:
    def __init__(self, coordination: Coordination) -> None:
        self._coordination = coordination

    async def publish(self, event: dict[str, Any]) -> None:
        """To the consoles' topic only. Events used to go to a topic per conversation as well,
        which nothing subscribed to: half of a worker's publishes, about 3 % of its CPU under
        load. A client that wants one conversation filters on `conversation_id`."""
        try:
            await self._coordination.publish(CONSOLE_TOPIC, event)
        except Exception as exc:
            log.warning("live event not published (%s): %s", event.get("type"), exc)

    async def message_changed(self, message_id: int, conversation_id: int | None = None) -> None:
        await self.publish(
            {"type": "message", "message_id": message_id, "conversation_id": conversation_id},
        )

    async def conversation_changed(self, conversation_id: int, state: str) -> None:
        await self.publish(
            {"type": "conversation", "conversation_id": conversation_id, "state": state},
        )
