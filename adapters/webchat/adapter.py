"""The web chat adapter: outbound messages are published to the session's live sockets."""

from __future__ import annotations

from typing import Any, Protocol

from adapters.base import Capabilities, ChannelAdapter, RawRequest, SendResult, WebhookRejected
from bot.model import Address, Event, Outbound


class WebchatHost(Protocol):
    """What the web chat needs from the core, and nothing more."""

    async def ingest(self, events: list[Event]) -> list[Any]: ...

    async def open_session(self, session_id: str) -> int:
        """Make sure the session's customer exists; returns the customer id."""

    async def history(self, session_id: str) -> list[dict[str, Any]]:
        """The customer's transcript across channels, oldest first (message JSON)."""

    async def identify(self, session_id: str, claims: dict[str, Any]) -> int:
        """Link the session to the brand's signed user identity; returns the customer id."""

    async def publish(self, topic: str, message: dict[str, Any]) -> int: ...

    async def subscribe(self, topic: str) -> Any: ...

    async def allow(self, key: str, limit: int, window: float) -> bool: ...


def session_topic(session_id: str) -> str:
    return f"webchat:{session_id}"


class WebchatAdapter(ChannelAdapter):
    name = "webchat"
    channels = ("webchat",)

    def __init__(self, max_text: int = 4096) -> None:
        self._capabilities = Capabilities(max_text_length=max_text, max_buttons=10, media=True)
        self.host: WebchatHost | None = None

    def capabilities(self, channel: str) -> Capabilities:
        return self._capabilities

    async def verify(self, request: RawRequest) -> None:
        raise WebhookRejected(404, "web chat has no webhook; use the WebSocket /webchat/ws")

    def parse(self, request: RawRequest) -> list[Event]:
        return []

    async def send(self, address: Address, outbound: Outbound) -> SendResult:
        assert self.host is not None, "web chat adapter is not attached to the app"
        meta = outbound.meta
        frame = {
            "type": "message",
            "id": meta.get("message_id"),
            "sender": meta.get("sender", "bot"),
            "text": outbound.text,
            "buttons": [b.to_dict() for b in outbound.buttons],
            "media": [m.to_dict() for m in outbound.media],
            "created_at": meta.get("created_at"),
        }
        receivers = await self.host.publish(session_topic(address.chat_id), frame)
        # No open socket is fine: the message is in the transcript the widget loads on connect.
        return SendResult(
            provider_message_id=f"out:{meta.get('message_id')}",
            status="delivered" if receivers else "sent",
        )
