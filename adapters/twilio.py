"""Twilio SMS and WhatsApp: verified webhooks in, the Messages API out.

Signatures are checked by twilio-python's own `RequestValidator` (blank values, the URL with
and without the default port, `bodySHA256` for JSON bodies, the SHA-256 shared-key variant), so
we sign-check exactly as Twilio documents and tests it.

Sending talks to the Messages API with aiohttp rather than the SDK's async client: the SDK
hard-codes `https://api.twilio.com` per domain (pointing it at OMNIGATE_TWILIO_API_URL means
patching `client.api.base_url`), its errors drop the response headers (so Retry-After is lost),
and its aiohttp-retry layer would retry underneath the outbox, which owns retries.
"""

from __future__ import annotations

import base64
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from multidict import MultiDict
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from adapters import provider_http, sms_encoding
from adapters.base import (
    Capabilities,
    ChannelAdapter,
    RawRequest,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookReply,
)
from adapters.twilio_parse import parse_twilio
from adapters.twilio_render import WHATSAPP_MAX_TEXT, render_sms, render_whatsapp
from bot.model import DELIVERY_RANK, Address, Event, Outbound, Template
from bot.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
WHATSAPP_PREFIX = "whatsapp:"
STATUS_PATH = "/webhooks/twilio/status"
OPTED_OUT = "21610"  # "Attempt to send to unsubscribed recipient"
WINDOW_CLOSED = "63016"  # WhatsApp free-form message outside the 24 h window


_RENDERED = "twilio_rendered_for"


class TwilioAdapter(ChannelAdapter):
    name = "twilio"
    channels = ("sms", "whatsapp")
    webhook_path = "/webhooks/twilio"
    status_path = STATUS_PATH

    def __init__(self, settings: Settings, *, timeout: float = provider_http.DEFAULT_TIMEOUT):
        self.settings = settings
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    # -- configuration -------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return bool(self.settings.twilio_account_sid and self.settings.twilio_auth_token)

    def capabilities(self, channel: str) -> Capabilities:
        rate = self.settings.twilio_send_rate
        if channel == "whatsapp":
            return Capabilities(
                max_text_length=WHATSAPP_MAX_TEXT,
                max_buttons=0,  # quick replies need a Content template
                media=True,
                markdown=True,  # WhatsApp's *bold* _italic_
                session_window=timedelta(hours=24),
                send_rate=rate,
            )
        segments = min(max(self.settings.sms_max_segments, 1), 10)
        return Capabilities(
            max_text_length=sms_encoding.GSM7_SINGLE
            if segments == 1
            else sms_encoding.GSM7_MULTI * segments,
            max_buttons=0,
            media=False,  # rendered as links
            send_rate=rate,
        )

    async def start(self) -> None:
        if self._session is None:
            self._session = provider_http.new_session(self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- webhooks ------------------------------------------------------------------------

    async def verify(self, request: RawRequest) -> None:
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise WebhookRejected(403, "missing X-Twilio-Signature")
        if not self.settings.twilio_auth_token:
            raise WebhookRejected(403, "Twilio auth token not configured")
        settings_header = request.header(SIGNATURE_SETTINGS_HEADER)
        algorithm = get_signature_algorithm(settings_header)
        # A shared-key webhook is signed with that key's secret, not the auth token.
        secret = self.settings.twilio_auth_token
        if settings_header:
            secret = self.settings.twilio_webhook_secret or secret
        params: MultiDict[str] | str
        if "bodySHA256" in parse_qs(urlsplit(request.url).query):
            params = request.body.decode("utf-8", "replace")  # JSON body: hash checked
        else:
            params = MultiDict(request.form())
        validator = RequestValidator(secret)
        if isinstance(params, MultiDict) and _signed_as_received(
            validator, request.url, params, signature, algorithm
        ):
            return
        if not validator.validate(request.url, params, signature, algorithm):
            raise WebhookRejected(403, "invalid X-Twilio-Signature")

    def parse(self, request: RawRequest) -> list[Event]:
        return parse_twilio(request.form())

    def reply(self, request: RawRequest) -> WebhookReply:
        return WebhookReply(status=200, body=EMPTY_TWIML, content_type="text/xml")

    # -- sending -------------------------------------------------------------------------

    def render(self, outbound: Outbound, channel: str) -> list[Outbound]:
        if outbound.meta.get(_RENDERED) == channel:
            return [outbound]
        if channel == "whatsapp":
            parts = render_whatsapp(outbound)
        else:
            parts = render_sms(outbound, self.settings.sms_max_segments)
        for part in parts:  # so that send() does not render (and count segments) again
            part.meta = {**part.meta, _RENDERED: channel}
        return parts

    async def send(self, address: Address, outbound: Outbound) -> SendResult:
        """Send `outbound`, rendering it first (a rendered message renders to itself).

        Render before queueing so that each part is its own outbox row: when send() has to
        split, a failure after the first part makes a retry repeat the earlier parts.
        """
        parts = self.render(outbound, address.channel)
        results = [await self._send_one(address, part) for part in parts]
        first = results[0]
        return SendResult(
            provider_message_id=first.provider_message_id,
            status=first.status,
            extra_ids=tuple(r.provider_message_id for r in results[1:]),
            meta=first.meta,
        )

    def _endpoints(self, address: Address) -> tuple[str, str]:
        """(From, To) as Twilio wants them; the configured sender wins over the address."""
        if address.channel == "whatsapp":
            sender = self.settings.twilio_whatsapp_from or address.account
            return _whatsapp(sender), _whatsapp(address.chat_id)
        sender = self.settings.twilio_sms_from or address.account
        return sender, address.chat_id

    def _form(self, address: Address, outbound: Outbound) -> list[tuple[str, str]]:
        sender, to = self._endpoints(address)
        if not sender:
            raise SendError(
                f"no Twilio sender for {address.channel}", retryable=False, code="config"
            )
        form = [("To", to), ("From", sender)]
        if outbound.template is not None:
            form += _template_fields(outbound.template)
        else:
            if not outbound.text and not outbound.media:
                raise SendError("empty message", retryable=False, code="empty")
            if outbound.text:
                form.append(("Body", outbound.text))
            form += [("MediaUrl", m.url) for m in outbound.media if m.url]
        form.append(("StatusCallback", self.settings.public_base() + STATUS_PATH))
        return form

    async def _send_one(self, address: Address, outbound: Outbound) -> SendResult:
        if not self.configured:
            raise SendError("Twilio is not configured", retryable=False, code="config")
        form = self._form(address, outbound)
        await self.start()
        assert self._session is not None
        sid = self.settings.twilio_account_sid
        url = f"{self.settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        answer = await provider_http.post(
            self._session,
            url,
            # Encoded here: aiohttp's FormData costs more than the rest of the request.
            data=urlencode(form).encode(),
            headers={
                "Accept": "application/json",
                "Authorization": basic_auth(sid, self.settings.twilio_auth_token),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        body = answer.json()
        if answer.status >= 400 or not isinstance(body, dict) or not body.get("sid"):
            raise _send_error(answer)
        meta: dict[str, object] = {}
        if address.channel == "sms" and outbound.text:
            meta.update(sms_encoding.describe(outbound.text))
        if body.get("num_segments"):
            meta["provider_segments"] = body["num_segments"]
        return SendResult(str(body["sid"]), status=_status(body.get("status")), meta=meta)


def _signed_as_received(
    validator: RequestValidator,
    url: str,
    params: MultiDict[str],
    signature: str,
    algorithm: str,
) -> bool:
    """One HMAC over the URL exactly as received. `validate` always computes two (the URL
    with and without its port), and one of those is this URL, so a match here is a match
    there; anything else still goes through `validate`."""
    try:
        computed = validator.compute_signature(url, params, algorithm)
    except ValueError:  # an algorithm this twilio release does not know: validate says so
        return False
    return hmac.compare_digest(computed.encode(), signature.encode())


def basic_auth(login: str, password: str) -> str:
    # Built by hand: aiohttp 3.9 has no encode_basic_auth and 3.14 deprecates BasicAuth.
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _whatsapp(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


def _template_fields(template: Template) -> list[tuple[str, str]]:
    # Templates go through the Content API: an HX… sid plus numbered variables.
    sid = template.content_sid or (template.name if template.name.startswith("HX") else "")
    if not sid:
        raise SendError(
            f"template {template.name!r} has no Twilio content_sid",
            retryable=False,
            code="template",
        )
    fields = [("ContentSid", sid)]
    if template.variables:
        variables = {str(i): v for i, v in enumerate(template.variables, start=1)}
        fields.append(("ContentVariables", json.dumps(variables, ensure_ascii=False)))
    return fields


def _status(value: object) -> str:
    # accepted / scheduled (Messaging Services) are not delivery states of ours: still queued.
    status = str(value or "queued")
    return status if status in DELIVERY_RANK else "queued"


def _send_error(answer: provider_http.HttpAnswer) -> SendError:
    body = answer.json()
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or answer.status)
    message = str(body.get("message") or f"HTTP {answer.status}")
    reason = f"Twilio {code}: {message}"
    if answer.status == 429 or answer.status >= 500:
        return SendError(reason, retryable=True, code=code, retry_after=answer.retry_after)
    if answer.status < 400:  # a 2xx without a Message resource: nothing we can trust
        return SendError(f"unexpected Twilio answer: HTTP {answer.status}", retryable=True)
    return SendError(
        reason,
        retryable=False,
        code=code,
        unreachable=code == OPTED_OUT,
        window_closed=code == WINDOW_CLOSED,
    )
