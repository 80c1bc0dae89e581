"""A fake Telegram Bot API: a real aiohttp server at ``/bot{token}/{method}``.

It accepts JSON, urlencoded and multipart bodies like the real API (form values such as
reply_markup are JSON strings there, as aiogram sends them), answers ``{"ok": true, "result": …}``
with realistic Message objects, enforces the limits Telegram enforces (text 4096, caption
1024, callback_data 64 bytes, secret_token characters, getUpdates vs an active webhook), and
records every call. Failures are scripted with `fail_next(status=429|500|403…)` / `hang_next()`
from `FakeServer`; `block(chat_id)` makes a user block the bot for good.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, web

from adapters.fakes.common import FakeServer, RecordedCall, WebhookResponse
from adapters.fakes.telegram_updates import (
    DEFAULT_BOT,
    SECRET_HEADER,
    TelegramUpdates,
    TgUser,
    post_update,
)
from adapters.fakes.telegram_wire import (
    ApiError,
    caption_field,
    error_response,
    failure_response,
    flag,
    inline_markup,
    int_param,
    read_params,
)

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "ApiCall",
    "FakeTelegram",
    "TelegramUpdates",
    "TgUser",
    "post_update",
]

DEFAULT_TOKEN = f"{DEFAULT_BOT.id}:AAH-fake-telegram-token_0123456789abc"
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_REGISTERED: Any = object()  # `deliver` default: the secret setWebhook registered


_Method = Callable[[dict[str, Any]], Awaitable[tuple[Any, str]]]


@dataclass(slots=True)
class ApiCall:
    """One Bot API call: the canonical method name and its parameters, JSON fields decoded."""

    method: str
    params: dict[str, Any]
    token: str
    request: RecordedCall
    at: float = field(default_factory=time.time)


class FakeTelegram(FakeServer):
    def __init__(self, token: str = DEFAULT_TOKEN, *, bot: TgUser | None = None) -> None:
        super().__init__()
        self.token = token
        self.tokens = {token}
        bot_id = int(token.partition(":")[0])
        self.bot = bot or TgUser(
            id=bot_id,
            first_name="Omnigate Test",
            last_name="",
            username="omnigate_test_bot",
            language_code="",
            is_bot=True,
        )
        self.updates = TelegramUpdates(bot=self.bot)  # builder for the updates tests push
        self.api_calls: list[ApiCall] = []
        self.sent: list[dict[str, Any]] = []  # every message the bot sent, as returned
        self.answered: list[str] = []  # callback_query ids answered
        self.webhook: dict[str, Any] = {"url": "", "secret_token": "", "allowed_updates": None}
        self.blocked: set[int] = set()
        self._pending: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._file_ids = itertools.count(1)
        handlers: dict[str, _Method] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "answerCallbackQuery": self._answer_callback_query,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
        }
        # Bot API method names are case-insensitive.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self._handle)]

    async def stop(self) -> None:
        self._arrived.set()  # wake long polls so the server can shut down
        await super().stop()

    # -- what tests use --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to `method` (e.g. "sendMessage"), in order."""
        return [c.params for c in self.api_calls if c.method.lower() == method.lower()]

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling mode)."""
        self._pending.append(update)
        self._arrived.set()

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every send to them answers 403 from now on."""
        self.blocked.add(chat_id)

    async def deliver(
        self,
        update: dict[str, Any] | bytes,
        *,
        url: str | None = None,
        secret: str | None = _REGISTERED,
        session: ClientSession | None = None,
    ) -> WebhookResponse:
        """POST an update to the webhook setWebhook registered, with its secret, like Telegram."""
        target = url or self.webhook["url"]
        if not target:
            raise RuntimeError("no webhook registered: call setWebhook first or pass url=")
        if secret is _REGISTERED:
            secret = self.webhook["secret_token"] or None
        return await post_update(target, update, secret=secret, session=session)

    # -- the HTTP side ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        token = request.match_info["token"]
        if token not in self.tokens:
            return error_response(call, 401, "Unauthorized")
        name = request.match_info["method"]
        method, handler = self._methods.get(name.lower(), (name, None))
        params = await read_params(request, call)
        self.api_calls.append(ApiCall(method, params, token, call))
        if handler is None:
            return error_response(call, 404, "Not Found")
        if scripted := self.take_failure():
            if scripted.hang:
                await self.hang()
            return failure_response(call, scripted)
        try:
            result, description = await handler(params)
        except ApiError as exc:
            return error_response(call, exc.status, exc.description, exc.parameters)
        call.status = 200
        body: dict[str, Any] = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return web.json_response(body)

    # -- methods ---------------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> tuple[Any, str]:
        me = self.bot.to_dict() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        return me, ""

    async def _send_message(self, params: dict[str, Any]) -> tuple[Any, str]:
        chat_id = self._chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._message(chat_id, {"text": text}, inline_markup(params)), ""

    async def _send_photo(self, params: dict[str, Any]) -> tuple[Any, str]:
        chat_id = self._chat_id(params)
        if not params.get("photo"):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        n = next(self._file_ids)
        sizes = [
            {
                "file_id": f"AgACAgQAAxk-sent-{n}-{w}",
                "file_unique_id": f"AQADsent{n}{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": w * 100,
            }
            for w in (90, 320, 800)
        ]
        fields = {"photo": sizes} | caption_field(params)
        return self._message(chat_id, fields, inline_markup(params)), ""

    async def _send_document(self, params: dict[str, Any]) -> tuple[Any, str]:
        chat_id = self._chat_id(params)
        source = params.get("document")
        if not source:
            raise ApiError(400, "Bad Request: there is no document in the request")
        name = urlsplit(str(source)).path.rsplit("/", 1)[-1] or "file"
        document = {
            "file_id": f"BQACAgQAAxk-sent-{next(self._file_ids)}",
            "file_unique_id": f"AgADsent{len(self.sent)}",
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        }
        fields = {"document": document} | caption_field(params)
        return self._message(chat_id, fields, inline_markup(params)), ""

    async def _answer_callback_query(self, params: dict[str, Any]) -> tuple[Any, str]:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered.append(str(query_id))
        return True, ""

    async def _set_webhook(self, params: dict[str, Any]) -> tuple[Any, str]:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if secret and not _SECRET_FORMAT.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        if flag(params.get("drop_pending_updates")):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        return True, "Webhook was set" if url else "Webhook was deleted"

    async def _delete_webhook(self, params: dict[str, Any]) -> tuple[Any, str]:
        was_set = bool(self.webhook["url"])
        if flag(params.get("drop_pending_updates")):
            self._pending.clear()
        self.webhook = {
            "url": "",
            "secret_token": "",
            "allowed_updates": self.webhook["allowed_updates"],
        }
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    async def _get_webhook_info(self, params: dict[str, Any]) -> tuple[Any, str]:
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook["allowed_updates"] is not None:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info, ""

    async def _get_updates(self, params: dict[str, Any]) -> tuple[Any, str]:
        if self.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int_param(params, "offset", 0)
        limit = max(1, min(100, int_param(params, "limit", 100)))
        timeout = max(0, int_param(params, "timeout", 0))
        # An offset confirms every update below it: Telegram forgets them.
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._arrived.clear()
            batch = self._pending[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._release.is_set():
                return batch, ""
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass

    # -- helpers ---------------------------------------------------------------------------

    def _chat_id(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            value = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if value in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return value

    def _message(
        self, chat_id: int, fields: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Group"
        message = {
            "message_id": next(self._message_ids[chat_id]),
            "from": self.bot.to_dict(),
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self.sent.append(message)
        return message
