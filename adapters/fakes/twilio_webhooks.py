"""Twilio's side of a webhook: the parameters it sends, signed the way it signs them.

The signature is implemented here from Twilio's documented recipe, independently of the
adapter (which uses twilio-python's validator), so a test that passes proves both agree.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Iterable, Mapping
from hashlib import sha1
from urllib.parse import urlencode

from aiohttp import ClientSession

from adapters import sms_encoding
from adapters.fakes.common import WebhookResponse, post_webhook

Params = Mapping[str, str] | Iterable[tuple[str, str]]
TEST_ACCOUNT_SID = "AC" + "0" * 32
WHATSAPP = "whatsapp:"


def _items(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def sign_twilio(url: str, params: Params, auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL + sorted name/value pairs.

    Every parameter counts, blank values included; repeated values are sorted and
    de-duplicated per name.
    """
    values: dict[str, set[str]] = {}
    for name, value in _items(params):
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twilio_inbound_params(
    *,
    from_: str,
    to: str,
    body: str = "",
    account_sid: str = TEST_ACCOUNT_SID,
    message_sid: str | None = None,
    media: Iterable[tuple[str, str]] = (),
    profile_name: str = "",
    button_payload: str = "",
    button_text: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    address: str = "",
    label: str = "",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """An incoming-message webhook as Twilio posts it (SMS, or WhatsApp when from_ has
    the ``whatsapp:`` prefix), including the blank parameters Twilio really sends."""
    media = list(media)
    sid = message_sid or new_sid("MM" if media else "SM")
    params: dict[str, str]
    if from_.startswith(WHATSAPP):
        kind = "button" if button_payload else "location" if latitude is not None else "text"
        if media:
            kind = media[0][1].split("/", 1)[0]
        params = {
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ProfileName": profile_name,
            "MessageType": kind,
            "SmsSid": sid,
            "WaId": from_[len(WHATSAPP) :].lstrip("+"),
            "SmsStatus": "received",
            "Body": body,
            "To": to,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": account_sid,
            "From": from_,
            "ApiVersion": "2010-04-01",
        }
    else:
        params = {
            "ToCountry": "",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "",
            "To": to,
            "ToZip": "",
            "NumSegments": str(max(1, sms_encoding.segments(body))),
            "MessageSid": sid,
            "AccountSid": account_sid,
            "From": from_,
            "ApiVersion": "2010-04-01",
        }
    for i, (url, content_type) in enumerate(media):
        params[f"MediaContentType{i}"] = content_type
        params[f"MediaUrl{i}"] = url
    if button_payload:
        params.update(ButtonPayload=button_payload, ButtonText=button_text or body)
    if latitude is not None and longitude is not None:
        params.update(Latitude=str(latitude), Longitude=str(longitude))
        params.update(Address=address, Label=label)
    params.update(extra or {})
    return params


def twilio_status_params(
    *,
    message_sid: str,
    status: str,
    from_: str,
    to: str,
    account_sid: str = TEST_ACCOUNT_SID,
    error_code: str | int | None = None,
    error_message: str = "",
) -> dict[str, str]:
    """A status callback as Twilio posts it to a message's StatusCallback URL."""
    params = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }
    if from_.startswith(WHATSAPP):
        params.update(ChannelPrefix="whatsapp", ChannelToAddress=to[len(WHATSAPP) :])
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    if error_message:
        params["ErrorMessage"] = error_message
    return params


async def send_twilio_webhook(
    url: str,
    params: Params,
    auth_token: str,
    *,
    signed_url: str | None = None,
    signature: str | None = None,
    headers: Mapping[str, str] | None = None,
    session: ClientSession | None = None,
) -> WebhookResponse:
    """POST `params` to `url` signed like Twilio (over `signed_url`, the public URL, if the
    gateway sits behind a proxy); `signature` overrides the computed one (forgery tests),
    ``signature=""`` sends none."""
    items = _items(params)
    if signature is None:
        signature = sign_twilio(signed_url or url, items, auth_token)
    sent = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }
    if signature:
        sent["X-Twilio-Signature"] = signature
    sent.update(headers or {})
    return await post_webhook(url, urlencode(items).encode("utf-8"), sent, session=session)
