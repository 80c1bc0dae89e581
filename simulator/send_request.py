"""`POST /simulator/api/send`: what a simulated customer does on a phone, validated.

{"channel": "sms" | "whatsapp" | "telegram",
 "from": "+90 555 111 22 33" | "111222333" (a Telegram user id),
 "text": "...",                                    # a typed message (or a caption)
 "button": {"payload": "...", "title": "...", "kind": "reply" | "list" | "callback",
            "reply_to": "<provider id of the message the button is under>"},
 "attachment": "photo" | "location" | "contact",   # contact: Telegram, own number
 "contact_phone": "+90…",                          # the number a contact share carries
 "via": "cloud" | "twilio"}                        # WhatsApp: Meta Cloud API or Twilio
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.phones import normalize_phone

CHANNELS = ("sms", "whatsapp", "telegram")
ATTACHMENTS = {
    "sms": ("photo",),
    "whatsapp": ("photo", "location"),
    "telegram": ("photo", "location", "contact"),
}
MAX_TEXT = 4096


class BadSend(ValueError):
    """The request cannot be turned into a provider webhook; the message says why."""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    payload: str
    title: str
    kind: str = "reply"  # reply | list (WhatsApp) · callback (Telegram)
    reply_to: str = ""  # provider id of the message carrying the button


@dataclass(frozen=True, slots=True)
class CustomerSend:
    channel: str
    sender: str  # E.164 phone (sms, whatsapp) or Telegram user id
    text: str = ""
    button: ButtonPress | None = None
    attachment: str = ""
    contact_phone: str = ""
    via: str = "cloud"

    @property
    def telegram_id(self) -> int:
        return int(self.sender)

    @classmethod
    def parse(cls, body: dict[str, Any], region: str = "TR") -> CustomerSend:
        channel = body.get("channel")
        if channel not in CHANNELS:
            raise BadSend(f"channel: one of {', '.join(CHANNELS)}.")
        sender = _sender(channel, body.get("from"), region)
        text = body.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise BadSend(f"text: a string of at most {MAX_TEXT} characters.")
        attachment = body.get("attachment") or ""
        if attachment and attachment not in ATTACHMENTS[channel]:
            raise BadSend(f"attachment on {channel}: one of {', '.join(ATTACHMENTS[channel])}.")
        via = body.get("via") or "cloud"
        if via not in ("cloud", "twilio"):
            raise BadSend("via: cloud (Meta Cloud API) or twilio.")
        button = _button(body.get("button"))
        if button is not None and channel == "sms":
            raise BadSend("SMS has no buttons: answer with the option's number.")
        contact_phone = ""
        if attachment == "contact":
            contact_phone = normalize_phone(str(body.get("contact_phone", "")), region) or ""
            if not contact_phone:
                raise BadSend("contact_phone: the phone number to share, e.g. +905551112233.")
        if not (text.strip() or button or attachment):
            raise BadSend("Nothing to send: give text, a button or an attachment.")
        return cls(channel, sender, text, button, attachment, contact_phone, via)


def _sender(channel: str, value: Any, region: str) -> str:
    raw = str(value or "").strip()
    if channel == "telegram":
        if not raw.isdigit() or not 0 < int(raw) < 10**12:
            raise BadSend("from: a Telegram user id (digits), e.g. 111222333.")
        return raw
    phone = normalize_phone(raw, region)
    if phone is None:
        raise BadSend("from: a phone number, e.g. +90 555 111 22 33.")
    return phone


def _button(value: Any) -> ButtonPress | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadSend('button: {"payload": "...", "title": "..."}.')
    payload, title = value.get("payload"), value.get("title", "")
    kind, reply_to = value.get("kind", "reply"), value.get("reply_to", "")
    if not isinstance(payload, str) or not payload or len(payload) > 256:
        raise BadSend("button.payload: the button's id or callback data.")
    if not isinstance(title, str) or kind not in ("reply", "list", "callback"):
        raise BadSend("button.kind: reply, list or callback; button.title: a string.")
    return ButtonPress(payload, title or payload, kind, str(reply_to or ""))
