"""The one message model every channel is normalized into.

Adapters produce `Inbound` and `StatusUpdate` events from provider webhooks and consume
`Outbound` messages addressed by an `Address`. Everything here is plain data: frozen where it
is used as a key, JSON-serializable through `to_dict` / `from_dict` so that it can be stored in
the outbox and sent later without the original request.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """What the customer sees: the app they write in, whichever provider carries it."""

    WEBCHAT = "webchat"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"


class Kind(StrEnum):
    TEXT = "text"
    MEDIA = "media"
    LOCATION = "location"
    BUTTON = "button"
    CONTACT = "contact"
    EDIT = "edit"


class Sender(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Delivery(StrEnum):
    """Delivery states of an outbound message, in the order a message moves through them."""

    PENDING = "pending"
    HELD = "held"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


# A status callback may arrive late or out of order; a message never moves back to a lower rank.
DELIVERY_RANK: dict[str, int] = {
    Delivery.PENDING: 0,
    Delivery.HELD: 1,
    Delivery.QUEUED: 2,
    Delivery.SENDING: 3,
    Delivery.SENT: 4,
    Delivery.DELIVERED: 5,
    Delivery.READ: 6,
    Delivery.UNDELIVERED: 7,
    Delivery.FAILED: 7,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Address:
    """Where to reach someone: enough to send later without the original request.

    `provider` names the adapter that carries the channel (``twilio`` and ``whatsapp_cloud``
    both carry WhatsApp), `account` is our side (sender number, phone number id, bot id) and
    `chat_id` is theirs (E.164 phone, Telegram chat id, web chat session id).
    """

    channel: str
    provider: str
    account: str
    chat_id: str

    def to_dict(self) -> dict[str, str]:
        # Spelled out: dataclasses.asdict deep-copies, and this runs several times a message.
        return {
            "channel": self.channel,
            "provider": self.provider,
            "account": self.account,
            "chat_id": self.chat_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        return cls(
            channel=str(data["channel"]),
            provider=str(data["provider"]),
            account=str(data.get("account", "")),
            chat_id=str(data["chat_id"]),
        )


@dataclass(frozen=True, slots=True)
class Media:
    url: str
    content_type: str = ""
    caption: str = ""
    # Provider reference (Telegram file_id, WhatsApp media id) when there is no public URL.
    ref: str = ""

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Media:
        return cls(
            url=str(data.get("url", "")),
            content_type=str(data.get("content_type", "")),
            caption=str(data.get("caption", "")),
            ref=str(data.get("ref", "")),
        )


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Button:
        return cls(title=str(data["title"]), payload=str(data["payload"]))


@dataclass(frozen=True, slots=True)
class Template:
    """A provider-approved template (WhatsApp outside the 24 h window)."""

    name: str
    language: str = "tr"
    variables: tuple[str, ...] = ()
    # Twilio Content API sid, when the template is sent through Twilio.
    content_sid: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "language": self.language,
            "variables": list(self.variables),
            "content_sid": self.content_sid,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        return cls(
            name=str(data["name"]),
            language=str(data.get("language", "tr")),
            variables=tuple(str(v) for v in data.get("variables", ())),
            content_sid=str(data.get("content_sid", "")),
        )


@dataclass(slots=True)
class Inbound:
    """One message from a customer, normalized."""

    provider_id: str
    address: Address
    kind: str = Kind.TEXT
    text: str = ""
    payload: str = ""
    media: list[Media] = field(default_factory=list)
    timestamp: datetime = field(default_factory=utcnow)
    raw: dict[str, Any] = field(default_factory=dict)
    # The channel's own identity of the sender, e.g. ``+905551112233`` or a Telegram user id.
    external_id: str = ""
    profile_name: str = ""
    # Extra facts an adapter found: location, shared contact, deep-link payload, edited id.
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by the gateway once stored.
    id: int | None = None

    @property
    def channel(self) -> str:
        return self.address.channel


@dataclass(slots=True)
class StatusUpdate:
    """A provider's word on the delivery of one of our outbound messages."""

    provider: str
    channel: str
    provider_message_id: str
    status: str
    error_code: str = ""
    error_message: str = ""
    timestamp: datetime = field(default_factory=utcnow)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Outbound:
    """What the bot or an agent wants to say; the adapter fits it to the channel."""

    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    template: Template | None = None
    # Why the message exists (reply, notification, optout_confirmation…); used by channel rules.
    intent: str = "reply"
    # Set by the outbox sender, not stored in the body: the transcript row this message is
    # (``message_id``, ``sender``, ``created_at``) for channels that show it (web chat).
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [b.to_dict() for b in self.buttons],
            "media": [m.to_dict() for m in self.media],
            "template": self.template.to_dict() if self.template else None,
            "intent": self.intent,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outbound:
        template = data.get("template")
        return cls(
            text=str(data.get("text", "")),
            buttons=[Button.from_dict(b) for b in data.get("buttons", ())],
            media=[Media.from_dict(m) for m in data.get("media", ())],
            template=Template.from_dict(template) if template else None,
            intent=str(data.get("intent", "reply")),
        )


Event = Inbound | StatusUpdate


class IdentityRefused(Exception):
    """A claim of identity that does not hold (bad signature, invalid phone): refuse it."""


PAYLOAD_DIGEST_PREFIX = "sha256:"


def payload_digest(payload: str) -> str:
    """A short stand-in for a button payload too long for the channel (Telegram's 64 bytes).

    Deterministic and stateless: the core maps it back over the buttons it offered.
    """
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return PAYLOAD_DIGEST_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")
