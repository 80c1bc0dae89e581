"""Meta's side of a WhatsApp Cloud API webhook: payloads, serialised and signed like Meta's.

Meta serialises with non-ASCII escaped as \\uXXXX and "/" as "\\/" and signs those exact bytes;
`meta_json` does the same so that a receiver which re-serialises JSON fails as it would live.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientSession

from adapters.fakes.common import WebhookResponse, post_webhook

TEST_PHONE_NUMBER_ID = "106540352242922"
TEST_DISPLAY_NUMBER = "15550783881"
TEST_WABA_ID = "102290129340398"


def new_wamid() -> str:
    return (
        "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + secrets.token_bytes(24)).decode()
    )


def meta_json(payload: Any) -> bytes:
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")  # "/" only ever occurs inside strings


def sign_meta(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256 for `body`: "sha256=" + hex HMAC-SHA256 with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _now() -> str:
    return str(int(time.time()))


def whatsapp_payload(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    phone_number_id: str = TEST_PHONE_NUMBER_ID,
    display_phone_number: str = TEST_DISPLAY_NUMBER,
    waba_id: str = TEST_WABA_ID,
) -> dict[str, Any]:
    """One entry with one `messages` change, in the shape Meta posts."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    change = {"value": value, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [change]}]}


def merge_payloads(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several webhooks as one multi-entry payload (Meta batches under load)."""
    entries = [entry for payload in payloads for entry in payload["entry"]]
    return {"object": "whatsapp_business_account", "entry": entries}


def whatsapp_message(
    wa_id: str, kind: str, body: dict[str, Any], *, message_id: str = "", **fields: Any
) -> dict[str, Any]:
    """One inbound message object: ``{"from", "id", "timestamp", "type", <kind>: body}``."""
    message = {"from": wa_id, "id": message_id or new_wamid(), "timestamp": _now(), "type": kind}
    message[kind] = body
    message.update(fields)
    return message


def _inbound(wa_id: str, profile_name: str, message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    contacts = [{"profile": {"name": profile_name}, "wa_id": wa_id}]
    return whatsapp_payload(messages=[message], contacts=contacts, **kw)


def whatsapp_text_payload(
    *, wa_id: str, text: str, profile_name: str = "", message_id: str = "", **kw: Any
) -> dict[str, Any]:
    message = whatsapp_message(wa_id, "text", {"body": text}, message_id=message_id)
    return _inbound(wa_id, profile_name, message, **kw)


def whatsapp_reply_payload(
    *,
    wa_id: str,
    reply_id: str,
    title: str,
    list_reply: bool = False,
    profile_name: str = "",
    context_id: str = "",
    **kw: Any,
) -> dict[str, Any]:
    """A tap on an interactive reply button (or a list row when `list_reply`)."""
    kind = "list_reply" if list_reply else "button_reply"
    body = {"type": kind, kind: {"id": reply_id, "title": title}}
    context = {"context": {"from": TEST_DISPLAY_NUMBER, "id": context_id or new_wamid()}}
    message = whatsapp_message(wa_id, "interactive", body, **context)
    return _inbound(wa_id, profile_name, message, **kw)


def whatsapp_button_payload(
    *, wa_id: str, payload: str, text: str, profile_name: str = "", **kw: Any
) -> dict[str, Any]:
    """A tap on a template's quick-reply button."""
    message = whatsapp_message(wa_id, "button", {"payload": payload, "text": text})
    return _inbound(wa_id, profile_name, message, **kw)


def whatsapp_media_payload(
    *,
    wa_id: str,
    kind: str = "image",
    media_id: str = "",
    mime_type: str = "image/jpeg",
    caption: str = "",
    profile_name: str = "",
    **kw: Any,
) -> dict[str, Any]:
    body = {"mime_type": mime_type, "sha256": secrets.token_hex(32), "id": media_id or "1" * 15}
    if caption:
        body["caption"] = caption
    return _inbound(wa_id, profile_name, whatsapp_message(wa_id, kind, body), **kw)


def whatsapp_location_payload(
    *,
    wa_id: str,
    latitude: float,
    longitude: float,
    name: str = "",
    address: str = "",
    profile_name: str = "",
    **kw: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        body.update(name=name, address=address)
    return _inbound(wa_id, profile_name, whatsapp_message(wa_id, "location", body), **kw)


def whatsapp_status(
    *,
    message_id: str,
    status: str,
    recipient_id: str,
    error_code: int | None = None,
    error_title: str = "",
    error_details: str = "",
    timestamp: str = "",
) -> dict[str, Any]:
    """One status object (sent, delivered, read, failed)."""
    item: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": timestamp or _now(),
        "recipient_id": recipient_id,
    }
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if error_code is not None:
        error = {"code": error_code, "title": error_title, "message": error_title}
        error["error_data"] = {"details": error_details or error_title}
        item["errors"] = [error]
    return item


def whatsapp_status_payload(
    *,
    message_id: str,
    status: str,
    recipient_id: str,
    error_code: int | None = None,
    error_title: str = "",
    error_details: str = "",
    **kw: Any,
) -> dict[str, Any]:
    """A statuses webhook for one message (several: `whatsapp_payload(statuses=[...])`)."""
    item = whatsapp_status(
        message_id=message_id,
        status=status,
        recipient_id=recipient_id,
        error_code=error_code,
        error_title=error_title,
        error_details=error_details,
    )
    return whatsapp_payload(statuses=[item], **kw)


async def send_meta_webhook(
    url: str,
    payload: Mapping[str, Any] | bytes,
    app_secret: str,
    *,
    signature: str | None = None,
    session: ClientSession | None = None,
) -> WebhookResponse:
    """POST a payload signed like Meta; `signature` overrides it, ``signature=""`` sends none."""
    body = payload if isinstance(payload, bytes) else meta_json(payload)
    if signature is None:
        signature = sign_meta(body, app_secret)
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return await post_webhook(url, body, headers, session=session)
