"""Twilio webhook parameters -> `Inbound` or `StatusUpdate`.

Twilio adds parameters without notice, so nothing is whitelisted: every parameter is kept in
`raw` and only the ones we understand are interpreted.
"""

from __future__ import annotations

from typing import Any

from adapters.base import WebhookRejected
from bot.model import Address, Event, Inbound, Kind, Media, StatusUpdate

WHATSAPP_PREFIX = "whatsapp:"


def _raw(params: list[tuple[str, str]]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key, value in params:
        if key not in raw:
            raw[key] = value
        elif isinstance(raw[key], list):
            raw[key].append(value)
        else:
            raw[key] = [raw[key], value]
    return raw


def split_address(value: str) -> tuple[str, str]:
    """'whatsapp:+90555…' -> ('whatsapp', '+90555…'); '+90555…' -> ('sms', '+90555…')."""
    if value.startswith(WHATSAPP_PREFIX):
        return "whatsapp", value[len(WHATSAPP_PREFIX) :]
    prefix, sep, _ = value.partition(":")
    if sep and prefix.isalpha():
        raise WebhookRejected(400, f"unsupported Twilio channel {prefix!r}")
    return "sms", value


def parse_twilio(params: list[tuple[str, str]]) -> list[Event]:
    form = dict(reversed(params))  # first value wins for repeated names
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise WebhookRejected(400, "no MessageSid")
    raw = _raw(params)
    # A status callback carries MessageStatus (and SmsStatus) and never a Body.
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if status and "Body" not in form:
        return [_status(sid, status, form, raw)]
    return [_inbound(sid, form, raw)]


def _status(sid: str, status: str, form: dict[str, str], raw: dict[str, Any]) -> StatusUpdate:
    channel = "whatsapp" if form.get("ChannelPrefix") == "whatsapp" else "sms"
    for value in (form.get("From", ""), form.get("To", "")):
        if value.startswith(WHATSAPP_PREFIX):
            channel = "whatsapp"
    return StatusUpdate(
        provider="twilio",
        channel=channel,
        provider_message_id=sid,
        status=status.lower(),
        error_code=form.get("ErrorCode", ""),
        error_message=form.get("ErrorMessage", "") or form.get("ChannelStatusMessage", ""),
        raw=raw,
    )


def _inbound(sid: str, form: dict[str, str], raw: dict[str, Any]) -> Inbound:
    sender = form.get("From", "")
    if not sender:
        raise WebhookRejected(400, "no From")
    channel, number = split_address(sender)
    body = form.get("Body", "")
    inbound = Inbound(
        provider_id=sid,
        address=Address(channel, "twilio", account=form.get("To", ""), chat_id=number),
        kind=Kind.TEXT,
        text=body,
        raw=raw,
        external_id=number,
        profile_name=form.get("ProfileName", ""),
    )
    if form.get("WaId"):
        inbound.extra["wa_id"] = form["WaId"]
    if form.get("OptOutType"):  # Twilio Advanced Opt-Out: STOP / START / HELP
        inbound.extra["opt_out_type"] = form["OptOutType"]
    if form.get("OriginalRepliedMessageSid"):
        inbound.extra["reply_to"] = form["OriginalRepliedMessageSid"]
    inbound.media = _media(form)
    if inbound.media:
        inbound.kind = Kind.MEDIA
    payload = form.get("ButtonPayload") or form.get("ListId") or ""
    if payload:
        inbound.kind = Kind.BUTTON
        inbound.payload = payload
        inbound.text = form.get("ButtonText") or form.get("ListTitle") or body
    elif form.get("Latitude") and form.get("Longitude"):
        inbound.kind = Kind.LOCATION
        inbound.extra["location"] = _location(form)
    return inbound


def _media(form: dict[str, str]) -> list[Media]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise WebhookRejected(400, "NumMedia is not a number") from None
    media = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}", "")
        if url:
            media.append(Media(url=url, content_type=form.get(f"MediaContentType{i}", "")))
    return media


def _location(form: dict[str, str]) -> dict[str, Any]:
    try:
        location: dict[str, Any] = {
            "latitude": float(form["Latitude"]),
            "longitude": float(form["Longitude"]),
        }
    except ValueError:
        raise WebhookRejected(400, "Latitude/Longitude are not numbers") from None
    for key, name in (("Address", "address"), ("Label", "label")):
        if form.get(key):
            location[name] = form[key]
    return location
