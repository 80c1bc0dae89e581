"""What a customer's phone shows for an API call the gateway made to a provider.

Pure functions from the fakes' records (a Twilio Message resource and its request, a Graph
API message body, a Telegram sendMessage / sendPhoto / sendDocument call) to one JSON-ready
phone message: text, buttons, media, template. The simulator page renders these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

WHATSAPP = "whatsapp:"


@dataclass(slots=True)
class PhoneMessage:
    """A message on a simulated phone; `direction` is "in" (customer -> gateway) or "out"."""

    channel: str  # sms | whatsapp | telegram
    direction: str
    peer: str  # the customer: E.164 phone, or the Telegram user id
    via: str  # twilio | cloud | telegram
    text: str = ""
    provider_id: str = ""
    buttons: list[dict[str, Any]] = field(default_factory=list)
    list_label: str = ""
    media: list[dict[str, str]] = field(default_factory=list)
    template: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # location, contact, message_id…
    status: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "direction": self.direction,
            "peer": self.peer,
            "via": self.via,
            "text": self.text,
            "provider_id": self.provider_id,
            "buttons": self.buttons,
            "list_label": self.list_label,
            "media": self.media,
            "template": self.template,
            "extra": self.extra,
            "status": self.status,
            "error": self.error,
        }


def phone_peer(value: str) -> str:
    """`whatsapp:+90…`, `90…` (a wa_id) or `+90…` -> `+90…`."""
    value = value.removeprefix(WHATSAPP).strip()
    digits = "".join(ch for ch in value if ch.isdigit())
    return "+" + digits if digits else value


# -- Twilio (SMS and WhatsApp) -------------------------------------------------------------


def from_twilio(message: dict[str, Any], form: dict[str, str], media: list[str]) -> PhoneMessage:
    """A Message resource FakeTwilio created, with the form fields the gateway posted."""
    to = str(message.get("to", ""))
    channel = "whatsapp" if to.startswith(WHATSAPP) else "sms"
    result = PhoneMessage(
        channel=channel,
        direction="out",
        peer=phone_peer(to),
        via="twilio",
        text=str(message.get("body") or ""),
        provider_id=str(message.get("sid", "")),
        media=[{"url": url, "type": "", "caption": ""} for url in media],
        status="accepted",
    )
    if form.get("ContentSid"):
        variables = json.loads(form.get("ContentVariables") or "{}")
        result.template = {"name": form["ContentSid"], "language": "", "variables": variables}
    return result


# -- WhatsApp Cloud API (Meta Graph) --------------------------------------------------------


def from_graph(wamid: str, body: dict[str, Any]) -> PhoneMessage:
    """A message the gateway posted to /{version}/{phone_number_id}/messages."""
    kind = str(body.get("type", "text"))
    result = PhoneMessage(
        channel="whatsapp",
        direction="out",
        peer=phone_peer(str(body.get("to", ""))),
        via="cloud",
        provider_id=wamid,
        status="accepted",
    )
    content = body.get(kind) or {}
    if kind == "text":
        result.text = str(content.get("body", ""))
    elif kind == "interactive":
        _interactive(result, content)
    elif kind == "template":
        result.template = _graph_template(content)
    elif kind in ("image", "document", "video", "audio", "sticker"):
        result.text = str(content.get("caption", ""))
        result.media = [{"url": str(content.get("link") or ""), "type": kind, "caption": ""}]
    else:
        result.text = f"[{kind}]"
    return result


def _interactive(result: PhoneMessage, content: dict[str, Any]) -> None:
    result.text = str((content.get("body") or {}).get("text", ""))
    footer = (content.get("footer") or {}).get("text")
    if footer:
        result.extra["footer"] = str(footer)
    action = content.get("action") or {}
    if content.get("type") == "button":
        result.buttons = [
            {"kind": "reply", "title": str(b["reply"]["title"]), "payload": str(b["reply"]["id"])}
            for b in action.get("buttons", [])
            if isinstance(b, dict) and isinstance(b.get("reply"), dict)
        ]
    elif content.get("type") == "list":
        result.list_label = str(action.get("button", ""))
        result.buttons = [
            {
                "kind": "list",
                "title": str(row.get("title", "")),
                "payload": str(row.get("id", "")),
                "description": str(row.get("description", "")),
            }
            for section in action.get("sections", [])
            for row in section.get("rows", [])
        ]


def _graph_template(content: dict[str, Any]) -> dict[str, Any]:
    variables = [
        str(parameter.get("text", ""))
        for component in content.get("components", []) or []
        for parameter in component.get("parameters", []) or []
    ]
    language = (content.get("language") or {}).get("code", "")
    return {"name": str(content.get("name", "")), "language": language, "variables": variables}


def graph_status(status: dict[str, Any]) -> tuple[str, str, str]:
    """(wamid, status, error) of one `statuses` item FakeGraph posted."""
    errors = status.get("errors") or []
    error = ""
    if errors:
        first = errors[0]
        error = f"{first.get('code', '')} {first.get('title', '')}".strip()
    return str(status.get("id", "")), str(status.get("status", "")), error


# -- Telegram Bot API ------------------------------------------------------------------------


def from_telegram(method: str, params: dict[str, Any], sent: dict[str, Any]) -> PhoneMessage:
    """A sendMessage / sendPhoto / sendDocument call and the Message the fake returned."""
    chat = sent.get("chat") or {}
    result = PhoneMessage(
        channel="telegram",
        direction="out",
        peer=str(chat.get("id", params.get("chat_id", ""))),
        via="telegram",
        text=str(sent.get("text") or sent.get("caption") or ""),
        provider_id=f"{chat.get('id', '')}:{sent.get('message_id', '')}",
        status="sent",  # the Bot API answered 200; Telegram sends bots no delivery receipts
    )
    result.extra["message_id"] = sent.get("message_id")
    lowered = method.lower()
    if lowered == "sendphoto":
        result.media = [{"url": str(params.get("photo", "")), "type": "image", "caption": ""}]
    elif lowered == "senddocument":
        result.media = [{"url": str(params.get("document", "")), "type": "document", "caption": ""}]
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        for row_index, row in enumerate(markup.get("inline_keyboard") or []):
            for button in row:
                entry = {"kind": "callback", "title": str(button.get("text", "")), "row": row_index}
                if button.get("url"):
                    entry.update(kind="url", payload=str(button["url"]))
                else:
                    entry["payload"] = str(button.get("callback_data", ""))
                result.buttons.append(entry)
    return result
