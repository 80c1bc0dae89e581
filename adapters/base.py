"""The contract every channel adapter implements.

An adapter translates, it does not decide: it verifies a provider's raw request, parses it into
normalized events, renders an `Outbound` for its channel and sends it. It never touches the
database; the gateway persists what `parse` returns and the outbox calls `send`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from bot.model import Address, Event, Outbound

# Called by adapters that receive events outside a webhook (long polling, WebSocket):
# persists them and returns once they are stored, raising if they could not be.
EventSink = Callable[[list[Event]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Capabilities:
    max_text_length: int = 4096
    max_buttons: int = 0  # 0: no native buttons, rendered as numbered text
    media: bool = False
    markdown: bool = False
    # Free-form replies are allowed only this long after the customer's last message.
    session_window: timedelta | None = None
    # Provider-wide sends per second (0 = unpaced) and per chat.
    send_rate: float = 0.0
    per_chat_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A webhook request as the provider sent it; the body is kept as raw bytes for HMACs."""

    method: str
    url: str  # the public URL the provider called, query string included
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""

    # The parsed form, filled on first use: verifying and parsing both read it.
    _form: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)

    def form(self) -> list[tuple[str, str]]:
        """Form parameters, blank values kept (Twilio signs over them too)."""
        if self._form is None:
            parsed = parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            object.__setattr__(self, "_form", parsed)  # frozen: a cache, not a change
            return parsed
        return self._form


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What to answer the provider once the events are safely stored."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"
    # Extra messages the adapter produced when it split the outbound (their provider ids).
    extra_ids: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


class WebhookRejected(Exception):
    """The request is not from the provider (bad signature, token) or is unusable."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SendError(Exception):
    """A send that did not go through.

    `retryable` errors (429, 5xx, timeouts) are retried with backoff, honouring `retry_after`
    seconds when the provider gave one; the rest end the message as failed with `code`.
    `unreachable` marks the identity as unable to receive (bot blocked, opted out).
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        code: str = "",
        retry_after: float | None = None,
        unreachable: bool = False,
        window_closed: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.window_closed = window_closed


class ChannelAdapter(ABC):
    """One provider. `name` is the provider key used in addresses and webhook paths."""

    name: str
    channels: tuple[str, ...]

    @abstractmethod
    def capabilities(self, channel: str) -> Capabilities: ...

    @property
    def configured(self) -> bool:
        """False when the deployer has not set the provider's credentials."""
        return True

    def bind(self, sink: EventSink) -> None:
        """Give the adapter the gateway's ingest, for events that do not come as webhooks."""
        self.sink = sink

    async def start(self) -> None:
        """Open HTTP sessions or background loops (polling)."""
        return None

    async def close(self) -> None:
        """Release what `start` opened."""
        return None

    @abstractmethod
    async def verify(self, request: RawRequest) -> None:
        """Raise `WebhookRejected` unless the request provably comes from the provider."""

    @abstractmethod
    def parse(self, request: RawRequest) -> list[Event]:
        """Turn a verified request into events; raise `WebhookRejected(400, …)` if malformed."""

    def reply(self, request: RawRequest) -> WebhookReply:
        """The acknowledgement sent after the events are stored."""
        return WebhookReply()

    async def acknowledge(self, events: list[Event]) -> None:
        """Provider chores once events are stored (e.g. Telegram's answerCallbackQuery)."""
        return None

    async def handshake(self, request: RawRequest) -> WebhookReply | None:
        """Answer a provider's GET subscription handshake; None when not supported."""
        return None

    def render(self, outbound: Outbound, channel: str) -> list[Outbound]:
        """Fit a message to the channel (split long text, turn buttons into text…)."""
        return [outbound]

    @abstractmethod
    async def send(self, address: Address, outbound: Outbound) -> SendResult:
        """Send one rendered message; raise `SendError` on failure."""
