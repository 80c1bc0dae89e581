"""Realistic Telegram updates, and delivering them to a webhook the way Telegram does.

`TelegramUpdates` builds the JSON Telegram sends (update_id increasing, message ids per chat,
`from` / `chat` as the Bot API documents them); `post_update` POSTs one to a webhook with the
`X-Telegram-Bot-Api-Secret-Token` header that setWebhook registered.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession

from adapters.fakes.common import WebhookResponse, post_webhook

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True, slots=True)
class TgUser:
    id: int = 111_222_333
    first_name: str = "Ayşe"
    last_name: str = "Yılmaz"
    username: str = "ayse_y"
    language_code: str = "tr"
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if value := getattr(self, key):
                user[key] = value
        return user

    def private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


DEFAULT_BOT = TgUser(
    id=123456,
    first_name="Omnigate Test",
    last_name="",
    username="omnigate_test_bot",
    language_code="",
    is_bot=True,
)


class TelegramUpdates:
    """Builds updates as a Telegram client would cause them; every call is a new update."""

    def __init__(self, *, first_update_id: int = 500_000_000, bot: TgUser = DEFAULT_BOT) -> None:
        self.user = TgUser()
        self.bot = bot
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)

    # -- building blocks -------------------------------------------------------------------

    def update(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Any update type, e.g. ``update("poll", {...})`` or ``update("my_chat_member", …)``."""
        return {"update_id": next(self._update_ids), kind: body}

    def message(
        self,
        user: TgUser | None = None,
        chat: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        user = user or self.user
        chat = chat or user.private_chat()
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids[chat["id"]]),
            "from": user.to_dict(),
            "chat": chat,
            "date": int(time.time()),
        }
        msg.update(fields)
        return msg

    # -- messages --------------------------------------------------------------------------

    def text(self, text: str, *, user: TgUser | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        return self.update("message", self.message(user, **fields))

    def start(self, payload: str = "", *, user: TgUser | None = None) -> dict[str, Any]:
        """What a t.me/<bot>?start=<payload> deep link sends."""
        return self.text(f"/start {payload}".strip(), user=user)

    def photo(self, *, caption: str = "", user: TgUser | None = None) -> dict[str, Any]:
        n = next(self._file_ids)
        sizes = [
            {
                "file_id": f"AgACAgIAAx0-{n}-s",
                "file_unique_id": f"AQAD{n}s",
                "width": 90,
                "height": 67,
                "file_size": 1280,
            },
            {
                "file_id": f"AgACAgIAAx0-{n}-m",
                "file_unique_id": f"AQAD{n}m",
                "width": 320,
                "height": 240,
                "file_size": 15_800,
            },
            {
                "file_id": f"AgACAgIAAx0-{n}-x",
                "file_unique_id": f"AQAD{n}x",
                "width": 1280,
                "height": 960,
                "file_size": 141_000,
            },
        ]
        fields: dict[str, Any] = {"photo": sizes}
        if caption:
            fields["caption"] = caption
        return self.update("message", self.message(user, **fields))

    def document(
        self,
        file_name: str = "fatura.pdf",
        mime_type: str = "application/pdf",
        *,
        caption: str = "",
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        n = next(self._file_ids)
        document = {
            "file_id": f"BQACAgIAAx0-{n}",
            "file_unique_id": f"AgAD{n}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 48_213,
        }
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
        return self.update("message", self.message(user, **fields))

    def voice(self, *, duration: int = 3, user: TgUser | None = None) -> dict[str, Any]:
        n = next(self._file_ids)
        voice = {
            "file_id": f"AwACAgIAAx0-{n}",
            "file_unique_id": f"AgAD{n}v",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 9_120,
        }
        return self.update("message", self.message(user, voice=voice))

    def location(
        self, latitude: float = 41.0082, longitude: float = 28.9784, *, user: TgUser | None = None
    ) -> dict[str, Any]:
        return self.update(
            "message", self.message(user, location={"latitude": latitude, "longitude": longitude})
        )

    def contact(
        self,
        phone_number: str = "+905551112233",
        *,
        own: bool = True,
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        """A shared contact: the sender's own (user_id = sender) or someone else's."""
        user = user or self.user
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user.first_name}
        if own:
            contact["last_name"] = user.last_name
            contact["user_id"] = user.id
        else:
            contact.update(first_name="Mehmet", user_id=user.id + 1)
        return self.update("message", self.message(user, contact=contact))

    def edited(self, message_id: int, text: str, *, user: TgUser | None = None) -> dict[str, Any]:
        user = user or self.user
        now = int(time.time())
        msg = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": user.private_chat(),
            "date": now - 30,
            "edit_date": now,
            "text": text,
        }
        return self.update("edited_message", msg)

    def group_text(
        self,
        text: str,
        *,
        chat_id: int = -1_001_234_567_890,
        title: str = "Destek Grubu",
        chat_type: str = "supergroup",
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        chat = {"id": chat_id, "title": title, "type": chat_type}
        return self.update("message", self.message(user, chat=chat, text=text))

    # -- button presses --------------------------------------------------------------------

    def callback(
        self,
        data: str,
        *,
        title: str = "",
        message_id: int = 1,
        user: TgUser | None = None,
    ) -> dict[str, Any]:
        """A press on an inline button under one of the bot's messages."""
        user = user or self.user
        bot_message = {
            "message_id": message_id,
            "from": self.bot.to_dict(),
            "chat": user.private_chat(),
            "date": int(time.time()) - 10,
            "text": "Seçiminiz?",
            "reply_markup": {"inline_keyboard": [[{"text": title or data, "callback_data": data}]]},
        }
        query = {
            "id": str(next(self._query_ids)),
            "from": user.to_dict(),
            "message": bot_message,
            "chat_instance": "-7390012345678901234",
            "data": data,
        }
        return self.update("callback_query", query)


async def post_update(
    url: str,
    update: dict[str, Any] | bytes,
    *,
    secret: str | None,
    session: ClientSession | None = None,
) -> WebhookResponse:
    """POST an update as Telegram does: JSON body, the secret header when one was set."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await post_webhook(url, body, headers, session=session)
