"""WhatsApp Cloud API (Meta Graph): signed webhooks in, `/{phone_number_id}/messages` out.

The webhook signature is an HMAC-SHA256 of the raw body bytes: Meta escapes non-ASCII as
\\uXXXX and "/" as "\\/", so re-serialised JSON would never match.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from adapters import provider_http
from adapters.base import (
    Capabilities,
    ChannelAdapter,
    RawRequest,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookReply,
)
from adapters.whatsapp_cloud_parse import parse_payload
from adapters.whatsapp_cloud_render import MAX_REPLY_BUTTONS, MAX_TEXT, message_body, render
from bot.model import Address, Event, Outbound
from bot.settings import Settings

SIGNATURE_HEADER = "X-Hub-Signature-256"
REENGAGEMENT = "131047"  # more than 24 h since the customer's last message
# Throughput / rate limits that clear by themselves: 130429 (cloud API throughput),
# 131056 (pair rate limit), 80007 (WABA rate limit), 4 (app call limit), 2 (temporary).
RETRYABLE_CODES = frozenset({"130429", "131056", "80007", "4", "2"})


def meta_signature(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WhatsAppCloudAdapter(ChannelAdapter):
    name = "whatsapp_cloud"
    channels = ("whatsapp",)
    webhook_path = "/webhooks/whatsapp"

    def __init__(self, settings: Settings, *, timeout: float = provider_http.DEFAULT_TIMEOUT):
        self.settings = settings
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.whatsapp_token and s.whatsapp_app_secret and s.whatsapp_phone_number_id)

    def capabilities(self, channel: str) -> Capabilities:
        return Capabilities(
            max_text_length=MAX_TEXT,
            max_buttons=MAX_REPLY_BUTTONS,
            media=True,
            markdown=True,
            session_window=timedelta(hours=24),
            send_rate=self.settings.whatsapp_send_rate,
        )

    async def start(self) -> None:
        if self._session is None:
            self._session = provider_http.new_session(self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- webhooks ------------------------------------------------------------------------

    async def handshake(self, request: RawRequest) -> WebhookReply | None:
        query = dict(request.query) or dict(parse_qsl(urlsplit(request.url).query))
        expected = self.settings.whatsapp_verify_token
        given = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") == "subscribe"
            and expected
            and hmac.compare_digest(given.encode(), expected.encode())
        ):
            return WebhookReply(200, query.get("hub.challenge", ""), "text/plain")
        raise WebhookRejected(403, "verify token mismatch")

    async def verify(self, request: RawRequest) -> None:
        secret = self.settings.whatsapp_app_secret
        if not secret:
            raise WebhookRejected(403, "WhatsApp app secret not configured")
        given = request.header(SIGNATURE_HEADER)
        if not given.startswith("sha256="):
            raise WebhookRejected(403, "missing X-Hub-Signature-256")
        expected = meta_signature(request.body, secret)
        if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
            raise WebhookRejected(403, "invalid X-Hub-Signature-256")

    def parse(self, request: RawRequest) -> list[Event]:
        return parse_payload(request.body)

    # -- sending -------------------------------------------------------------------------

    def render(self, outbound: Outbound, channel: str) -> list[Outbound]:
        return render(outbound)

    async def send(self, address: Address, outbound: Outbound) -> SendResult:
        """Send `outbound`, rendering it first (a rendered message renders to itself).

        Render before queueing so that each part is its own outbox row: when send() has to
        split, a failure after the first part makes a retry repeat the earlier parts.
        """
        results = [await self._send_one(address, part) for part in render(outbound)]
        return SendResult(
            provider_message_id=results[0].provider_message_id,
            status=results[0].status,
            extra_ids=tuple(r.provider_message_id for r in results[1:]),
        )

    async def _send_one(self, address: Address, part: Outbound) -> SendResult:
        s = self.settings
        # The configured number wins; the address's account covers proactive sends without it.
        phone_number_id = s.whatsapp_phone_number_id or address.account
        if not s.whatsapp_token or not phone_number_id:
            raise SendError("WhatsApp Cloud API is not configured", retryable=False, code="config")
        if part.template is None and not (part.text or part.media or part.buttons):
            raise SendError("empty message", retryable=False, code="empty")
        body = message_body(part, address.chat_id.lstrip("+"), language=s.default_language)
        url = (
            f"{s.whatsapp_api_url.rstrip('/')}/{s.whatsapp_api_version}/{phone_number_id}/messages"
        )
        await self.start()
        assert self._session is not None
        answer = await provider_http.post(
            self._session, url, json=body, headers={"Authorization": f"Bearer {s.whatsapp_token}"}
        )
        data = answer.json()
        messages = data.get("messages") if isinstance(data, dict) else None
        if answer.status >= 400 or not messages or not isinstance(messages[0], dict):
            raise _send_error(answer)
        # The API accepted the message; "sent" arrives later as a status webhook.
        return SendResult(str(messages[0].get("id", "")), status="queued")


def _send_error(answer: provider_http.HttpAnswer) -> SendError:
    data = answer.json()
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or answer.status)
    details = (error.get("error_data") or {}).get("details", "")
    message = str(error.get("message") or f"HTTP {answer.status}")
    reason = f"WhatsApp {code}: {message}" + (f" ({details})" if details else "")
    if answer.status < 400:  # a 2xx without a message id: nothing we can trust
        return SendError(f"unexpected Graph answer: HTTP {answer.status}", retryable=True)
    if answer.status == 429 or answer.status >= 500 or code in RETRYABLE_CODES:
        return SendError(reason, retryable=True, code=code, retry_after=answer.retry_after)
    return SendError(reason, retryable=False, code=code, window_closed=code == REENGAGEMENT)
