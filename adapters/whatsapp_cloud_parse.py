"""WhatsApp Cloud API webhook payloads -> `Inbound` and `StatusUpdate` events.

One payload can carry several entries, each several changes, each several messages and
statuses: every one of them becomes an event. Message types we do not model (reactions,
orders, system notices, "unsupported") still become an `Inbound` with empty text and
`extra["type"]`, so nothing the customer did disappears from the transcript.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.base import WebhookRejected
from bot.model import Address, Event, Inbound, Kind, Media, StatusUpdate, utcnow

PROVIDER = "whatsapp_cloud"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def parse_payload(body: bytes) -> list[Event]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookRejected(400, "body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
        raise WebhookRejected(400, "not a WhatsApp webhook payload")
    events: list[Event] = []
    for entry in payload.get("entry", []):
        for change in _dicts(entry.get("changes") if isinstance(entry, dict) else None):
            if change.get("field", "messages") != "messages":
                continue  # template / account notices are not conversation events
            value = change.get("value")
            if isinstance(value, dict):
                events += _value_events(value)
    return events


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _when(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def _value_events(value: dict[str, Any]) -> list[Event]:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    phone_number_id = str(metadata.get("phone_number_id", ""))
    contacts = _dicts(value.get("contacts"))
    names = {str(c.get("wa_id", "")): (c.get("profile") or {}).get("name", "") for c in contacts}
    events: list[Event] = []
    for message in _dicts(value.get("messages")):
        wa_id = str(message.get("from", ""))
        if not message.get("id") or not wa_id:
            raise WebhookRejected(400, "message without id or from")
        profile = names.get(wa_id) or (names[next(iter(names))] if len(names) == 1 else "")
        events.append(_message(message, phone_number_id, str(profile or ""), metadata))
    for status in _dicts(value.get("statuses")):
        events.append(_status(status))
    return events


def _message(
    message: dict[str, Any], phone_number_id: str, profile: str, metadata: dict[str, Any]
) -> Inbound:
    number = "+" + str(message["from"]).lstrip("+")
    kind = str(message.get("type", ""))
    inbound = Inbound(
        provider_id=str(message["id"]),
        address=Address("whatsapp", PROVIDER, account=phone_number_id, chat_id=number),
        timestamp=_when(message.get("timestamp")),
        raw={"message": message, "metadata": metadata},
        external_id=number,
        profile_name=profile,
    )
    inbound.extra["wa_id"] = str(message["from"])
    context = message.get("context")
    if isinstance(context, dict) and context.get("id"):
        inbound.extra["reply_to"] = context["id"]
    if isinstance(message.get("referral"), dict):
        inbound.extra["referral"] = message["referral"]
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        inbound.text = str(body.get("body", ""))
    elif kind == "interactive":
        reply = body.get(body.get("type", "")) or {}
        inbound.kind, inbound.payload = Kind.BUTTON, str(reply.get("id", ""))
        inbound.text = str(reply.get("title", ""))
    elif kind == "button":  # a template's quick-reply button
        inbound.kind, inbound.payload = Kind.BUTTON, str(body.get("payload", ""))
        inbound.text = str(body.get("text", ""))
    elif kind in MEDIA_TYPES:
        inbound.kind, inbound.text = Kind.MEDIA, str(body.get("caption", ""))
        inbound.media = [_media(body)]
        if body.get("filename"):
            inbound.extra["filename"] = body["filename"]
    elif kind == "location":
        inbound.kind = Kind.LOCATION
        inbound.extra["location"] = dict(body)  # latitude, longitude, name, address, url
    elif kind == "contacts":
        inbound.kind = Kind.CONTACT
        inbound.extra["contacts"] = shared = _contacts(message.get("contacts"))
        if shared:
            inbound.extra["contact"] = shared[0]
            inbound.text = shared[0]["name"]
    else:
        inbound.extra["type"] = kind
        if kind == "reaction":
            inbound.extra["reaction"] = body
    return inbound


def _media(body: dict[str, Any]) -> Media:
    # The Cloud API gives a media id, not a URL: fetching it needs the token (GET /{media-id}).
    return Media(
        url="",
        content_type=str(body.get("mime_type", "")),
        caption=str(body.get("caption", "")),
        ref=str(body.get("id", "")),
    )


def _contacts(items: Any) -> list[dict[str, str]]:
    shared = []
    for contact in _dicts(items):
        phones = _dicts(contact.get("phones"))
        phone = phones[0] if phones else {}
        shared.append(
            {
                "name": str((contact.get("name") or {}).get("formatted_name", "")),
                "phone": str(phone.get("phone", "")),
                "wa_id": str(phone.get("wa_id", "")),
            }
        )
    return shared


def _status(status: dict[str, Any]) -> StatusUpdate:
    if not status.get("id") or not status.get("status"):
        raise WebhookRejected(400, "status without id or status")
    errors = _dicts(status.get("errors"))
    error = errors[0] if errors else {}
    details = (error.get("error_data") or {}).get("details", "")
    return StatusUpdate(
        provider=PROVIDER,
        channel="whatsapp",
        provider_message_id=str(status["id"]),
        status=str(status["status"]),
        error_code=str(error.get("code", "")),
        error_message=str(error.get("title") or error.get("message") or details or ""),
        timestamp=_when(status.get("timestamp")),
        raw=status,
    )
