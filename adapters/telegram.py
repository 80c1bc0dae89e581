"""Telegram through the Bot API, with aiogram's `Bot` as the HTTP client.

Webhook mode: Telegram POSTs each update with the secret we gave setWebhook in
`X-Telegram-Bot-Api-Secret-Token`; there is no body signature, so that header is the whole
proof. Polling mode: a background task long-polls getUpdates and hands the events to the
gateway's sink. Parsing, rendering, sending and polling live in the `telegram_*` modules.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.token import TokenValidationError, validate_token

from adapters.base import (
    Capabilities,
    ChannelAdapter,
    RawRequest,
    SendError,
    SendResult,
    WebhookRejected,
)
from adapters.telegram_parse import MalformedUpdate, ParseContext, parse_update
from adapters.telegram_polling import UpdatePoller
from adapters.telegram_render import MAX_TEXT, render
from adapters.telegram_send import send_part
from bot.model import Address, Event, Inbound, Kind, Outbound
from bot.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# What Telegram accepts as a secret_token in setWebhook.
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MODES = ("webhook", "polling")


class TelegramAdapter(ChannelAdapter):
    name = "telegram"
    channels = ("telegram",)
    webhook_path = "/webhooks/telegram"

    def __init__(
        self,
        settings: Settings,
        *,
        request_timeout: float = 30.0,
        poll_timeout: int = 25,
        poll_backoff: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        if settings.telegram_mode not in MODES:
            raise ValueError(f"OMNIGATE_TELEGRAM_MODE must be one of {MODES}")
        if settings.telegram_token:
            try:
                validate_token(settings.telegram_token)
            except TokenValidationError as exc:
                raise ValueError("OMNIGATE_TELEGRAM_TOKEN is not a bot token (id:secret)") from exc
        self._settings = settings
        self._request_timeout = request_timeout
        self._poll_timeout = poll_timeout
        self._poll_backoff = poll_backoff
        self._context = ParseContext(
            account=settings.telegram_token.partition(":")[0],
            allow_groups=settings.telegram_allow_groups,
        )
        self._bot: Bot | None = None
        self._poller: UpdatePoller | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return bool(self._settings.telegram_token)

    @property
    def account(self) -> str:
        """Our bot id (the token's prefix), the `account` of every Telegram address."""
        return self._context.account

    def capabilities(self, channel: str) -> Capabilities:
        return Capabilities(
            max_text_length=MAX_TEXT,
            max_buttons=8,
            media=True,
            markdown=False,  # we send plain text: no parse_mode, nothing to escape
            send_rate=self._settings.telegram_send_rate,
            per_chat_rate=1.0,
        )

    def _client(self) -> Bot:
        if self._bot is None:
            if not self.configured:
                raise RuntimeError("Telegram is not configured: set OMNIGATE_TELEGRAM_TOKEN")
            api = TelegramAPIServer.from_base(self._settings.telegram_api_url)
            session = AiohttpSession(api=api, timeout=self._request_timeout)
            self._bot = Bot(self._settings.telegram_token, session=session)
        return self._bot

    async def start(self) -> None:
        if not self.configured:
            log.info("telegram: OMNIGATE_TELEGRAM_TOKEN not set, adapter idle")
            return
        bot = self._client()
        if self._settings.telegram_mode == "polling" and self._poller is None:
            if getattr(self, "sink", None) is None:
                raise RuntimeError("telegram polling needs the gateway's sink: call bind() first")
            self._poller = UpdatePoller(
                bot,
                self._deliver,
                allowed_updates=list(ALLOWED_UPDATES),
                timeout=self._poll_timeout,
                request_timeout=self._request_timeout,
                backoff=self._poll_backoff,
            )
            self._poller.start()
            log.info("telegram: long polling started")

    async def close(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            await poller.stop()
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.session.close()

    # -- inbound ---------------------------------------------------------------------------

    async def verify(self, request: RawRequest) -> None:
        expected = self._settings.telegram_secret
        if not expected:
            raise WebhookRejected(
                401, "OMNIGATE_TELEGRAM_SECRET is not set: unauthenticated webhooks are refused"
            )
        given = request.header(SECRET_HEADER)
        if not given:
            raise WebhookRejected(401, f"missing {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRejected(401, f"wrong {SECRET_HEADER}")

    def parse(self, request: RawRequest) -> list[Event]:
        try:
            update = json.loads(request.body)
        except (ValueError, RecursionError) as exc:
            raise WebhookRejected(400, f"body is not JSON: {exc}") from exc
        if not isinstance(update, dict):
            raise WebhookRejected(400, "body is not a Telegram update object")
        try:
            return parse_update(update, self._context)
        except MalformedUpdate as exc:
            raise WebhookRejected(400, f"not a Telegram update: {exc}") from exc

    async def acknowledge(self, events: list[Event]) -> None:
        """Answer callback queries, so the user's button stops showing a spinner."""
        query_ids = [
            e.extra["callback_query_id"]
            for e in events
            if isinstance(e, Inbound) and e.kind == Kind.BUTTON and e.extra.get("callback_query_id")
        ]
        if not query_ids:
            return
        if not self.configured:
            log.warning("telegram: cannot answer callback queries, no token configured")
            return
        bot = self._client()
        await asyncio.gather(*(self._answer(bot, query_id) for query_id in query_ids))

    async def _answer(self, bot: Bot, query_id: str) -> None:
        try:
            await bot.answer_callback_query(query_id)
        except Exception as exc:  # a chore: the event is stored, a failure here loses nothing
            log.warning("telegram: answerCallbackQuery %s failed: %s", query_id, exc)

    async def _deliver(self, updates: list[dict[str, Any]]) -> None:
        """Polling: parse a batch, hand it to the sink; raising keeps the batch unconfirmed."""
        events: list[Event] = []
        for update in updates:
            try:
                events.extend(parse_update(update, self._context))
            except MalformedUpdate as exc:
                # aiogram already validated it; retrying a poison update would block the rest.
                log.error("telegram: update skipped, %s: %s", exc, update)
        if events:
            await self.sink(events)
            await self.acknowledge(events)

    # -- outbound --------------------------------------------------------------------------

    def render(self, outbound: Outbound, channel: str) -> list[Outbound]:
        return render(outbound)

    async def send(self, address: Address, outbound: Outbound) -> SendResult:
        parts = render(outbound)
        if not any(part.text or part.media for part in parts):
            raise SendError("nothing to send: no text and no media", retryable=False, code="empty")
        if not self.configured:
            raise SendError(
                "Telegram is not configured: set OMNIGATE_TELEGRAM_TOKEN",
                retryable=False,
                code="not_configured",
            )
        bot = self._client()
        chat_id: int | str = address.chat_id
        if address.chat_id.lstrip("-").isdigit():
            chat_id = int(address.chat_id)
        ids = [await send_part(bot, chat_id, part) for part in parts]
        return SendResult(provider_message_id=ids[0], extra_ids=tuple(ids[1:]))

    # -- webhook management (the CLI's `omnigate telegram set-webhook`) ---------------------

    async def set_webhook(
        self, url: str | None = None, *, drop_pending_updates: bool = False
    ) -> str:
        """Point Telegram at our webhook (default: OMNIGATE_PUBLIC_URL + webhook_path)."""
        secret = self._settings.telegram_secret
        if not _SECRET_FORMAT.match(secret):
            raise ValueError(
                "OMNIGATE_TELEGRAM_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        url = url or self._settings.public_base() + self.webhook_path
        await self._client().set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=drop_pending_updates,
        )
        return url

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> None:
        await self._client().delete_webhook(drop_pending_updates=drop_pending_updates)

    async def webhook_info(self) -> dict[str, Any]:
        info = await self._client().get_webhook_info()
        return info.model_dump(mode="json", exclude_none=True)
