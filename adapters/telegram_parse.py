"""Telegram updates (plain JSON dicts) to normalized `Inbound` events.

We read the dicts rather than aiogram's `Update` model on purpose: the model marks fields
required that a server may not send (aiogram 3.31 requires `poll.allows_revoting`, for one), so
validating a whole update would turn a genuine update we do not even handle into a 400 that
Telegram retries. We read a dozen fields, check the ones we need, and keep the rest in `raw`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.telegram_render import is_digest
from bot.model import Address, Event, Inbound, Kind, Media, utcnow

log = logging.getLogger(__name__)

CHANNEL = "telegram"
GROUP_CHATS = frozenset({"group", "supergroup", "channel"})
# Message fields holding a file, in precedence order: an animation also carries `document`.
_FILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("animation", "video/mp4"),
    ("document", "application/octet-stream"),
    ("video", "video/mp4"),
    ("video_note", "video/mp4"),
    ("voice", "audio/ogg"),
    ("audio", "audio/mpeg"),
)
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>.*))?$", re.DOTALL)


class MalformedUpdate(ValueError):
    """The JSON is not a Telegram update we can read (the webhook answers 400)."""


@dataclass(frozen=True, slots=True)
class ParseContext:
    account: str  # our bot id, the token's prefix
    allow_groups: bool


@dataclass(slots=True)
class _Content:
    kind: str
    text: str = ""
    media: list[Media] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{where} must be an object")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedUpdate(f"{where}.{key} must be an integer")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _timestamp(value: Any) -> datetime:
    if isinstance(value, int) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return utcnow()


def _full_name(person: Mapping[str, Any]) -> str:
    return " ".join(p for p in (_str(person, "first_name"), _str(person, "last_name")) if p)


def parse_update(update: Mapping[str, Any], ctx: ParseContext) -> list[Event]:
    """Events for one update; [] for update types and chats we deliberately ignore."""
    update_id = _int(update, "update_id", "update")
    provider_id = f"update:{update_id}"
    if "message" in update:
        return _message(provider_id, _obj(update["message"], "message"), update, ctx, False)
    if "edited_message" in update:
        edited = _obj(update["edited_message"], "edited_message")
        return _message(provider_id, edited, update, ctx, True)
    if "callback_query" in update:
        query = _obj(update["callback_query"], "callback_query")
        return _callback(provider_id, query, update, ctx)
    kinds = sorted(k for k in update if k != "update_id")
    log.info("telegram: update %s ignored, unsupported type %s", update_id, kinds)
    return []


def _chat_allowed(
    provider_id: str, chat: Mapping[str, Any], chat_id: int, ctx: ParseContext
) -> bool:
    # Telegram always sends the type; the id's sign tells groups apart if a client omits it.
    chat_type = _str(chat, "type") or ("private" if chat_id > 0 else "group")
    if chat_type in GROUP_CHATS and not ctx.allow_groups:
        log.info(
            "telegram: %s from %s chat %s ignored (OMNIGATE_TELEGRAM_ALLOW_GROUPS is off)",
            provider_id,
            chat_type,
            chat_id,
        )
        return False
    return True


def _sender_facts(sender: Mapping[str, Any], chat: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if username := _str(sender, "username"):
        extra["username"] = username
    if language := _str(sender, "language_code"):
        extra["language_code"] = language
    if (chat_type := _str(chat, "type")) and chat_type != "private":
        extra["chat_type"] = chat_type
    return extra


def _message(
    provider_id: str,
    msg: dict[str, Any],
    raw: Mapping[str, Any],
    ctx: ParseContext,
    edited: bool,
) -> list[Event]:
    where = "edited_message" if edited else "message"
    message_id = _int(msg, "message_id", where)
    chat = _obj(msg.get("chat"), f"{where}.chat")
    chat_id = _int(chat, "id", f"{where}.chat")
    if not _chat_allowed(provider_id, chat, chat_id, ctx):
        return []
    sender = msg.get("from") if isinstance(msg.get("from"), dict) else {}
    content = _content(msg, sender, where)
    if content is None:
        log.info("telegram: %s ignored, no supported content in the message", provider_id)
        return []
    extra = _sender_facts(sender, chat) | content.extra
    extra["message_id"] = message_id
    kind = content.kind
    if edited:
        extra["edited_message_id"] = message_id
        extra["edited_kind"] = str(content.kind)
        kind = Kind.EDIT
    sender_id = sender.get("id")
    return [
        Inbound(
            provider_id=provider_id,
            address=Address(CHANNEL, CHANNEL, ctx.account, str(chat_id)),
            kind=kind,
            text=content.text,
            media=content.media,
            timestamp=_timestamp(msg.get("edit_date") if edited else msg.get("date")),
            raw=dict(raw),
            external_id=str(sender_id if isinstance(sender_id, int) else chat_id),
            profile_name=_full_name(sender) or _str(chat, "title"),
            extra=extra,
        )
    ]


def _content(msg: Mapping[str, Any], sender: Mapping[str, Any], where: str) -> _Content | None:
    if isinstance(text := msg.get("text"), str):
        extra: dict[str, Any] = {}
        match = _START.match(text.strip())
        if match and (payload := (match.group("payload") or "").strip()):
            extra["start_payload"] = payload
        return _Content(Kind.TEXT, text, extra=extra)
    caption = _str(msg, "caption")
    if media := _media(msg, caption, where):
        item, media_type, file_name = media
        extra = {"media_type": media_type}
        if file_name:
            extra["file_name"] = file_name
        text = caption or (_str(msg["sticker"], "emoji") if media_type == "sticker" else "")
        return _Content(Kind.MEDIA, text, media=[item], extra=extra)
    if "location" in msg:
        return _Content(Kind.LOCATION, extra=_location(msg, where))
    if "contact" in msg:
        contact = _obj(msg["contact"], f"{where}.contact")
        return _Content(
            Kind.CONTACT, _str(contact, "phone_number"), extra=_contact(contact, sender)
        )
    return None


def _file_id(obj: Mapping[str, Any], where: str) -> str:
    file_id = obj.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise MalformedUpdate(f"{where}.file_id must be a non-empty string")
    return file_id


def _media(msg: Mapping[str, Any], caption: str, where: str) -> tuple[Media, str, str] | None:
    """(media, media type, file name) for the message's file, if it has one."""
    if "photo" in msg:
        sizes = msg["photo"]
        if not isinstance(sizes, list) or not sizes:
            raise MalformedUpdate(f"{where}.photo must be a non-empty array")
        sizes = [_obj(s, f"{where}.photo[]") for s in sizes]
        # Telegram lists sizes smallest first; pick by area in case a client does not.
        largest = max(
            sizes, key=lambda s: (s.get("width", 0) * s.get("height", 0), s.get("file_size", 0))
        )
        file_id = _file_id(largest, f"{where}.photo[]")
        return Media(url="", content_type="image/jpeg", caption=caption, ref=file_id), "photo", ""
    if "sticker" in msg:
        sticker = _obj(msg["sticker"], f"{where}.sticker")
        content_type = (
            "video/webm"
            if sticker.get("is_video")
            else "application/x-tgsticker"
            if sticker.get("is_animated")
            else "image/webp"
        )
        file_id = _file_id(sticker, f"{where}.sticker")
        return Media(url="", content_type=content_type, ref=file_id), "sticker", ""
    for name, default_type in _FILE_FIELDS:
        if name in msg:
            obj = _obj(msg[name], f"{where}.{name}")
            content_type = _str(obj, "mime_type") or default_type
            item = Media(
                url="",
                content_type=content_type,
                caption=caption,
                ref=_file_id(obj, f"{where}.{name}"),
            )
            return item, name, _str(obj, "file_name")
    return None


def _location(msg: Mapping[str, Any], where: str) -> dict[str, Any]:
    location = _obj(msg["location"], f"{where}.location")
    point: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        value = location.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise MalformedUpdate(f"{where}.location.{key} must be a number")
        point[key] = float(value)
    for key in ("horizontal_accuracy", "live_period"):
        if key in location:
            point[key] = location[key]
    extra: dict[str, Any] = {"location": point}
    if isinstance(venue := msg.get("venue"), dict):
        extra["venue"] = {"title": _str(venue, "title"), "address": _str(venue, "address")}
    return extra


def _contact(contact: Mapping[str, Any], sender: Mapping[str, Any]) -> dict[str, Any]:
    user_id = contact.get("user_id")
    sender_id = sender.get("id")
    facts: dict[str, Any] = {
        "phone_number": _str(contact, "phone_number"),
        "user_id": user_id if isinstance(user_id, int) else None,
        "first_name": _str(contact, "first_name"),
        "last_name": _str(contact, "last_name"),
        # Telegram only fills user_id with the sender's id when they shared their own number.
        "own": isinstance(user_id, int) and isinstance(sender_id, int) and user_id == sender_id,
    }
    if vcard := _str(contact, "vcard"):
        facts["vcard"] = vcard
    return {"contact": facts}


def _callback(
    provider_id: str, query: dict[str, Any], raw: Mapping[str, Any], ctx: ParseContext
) -> list[Event]:
    query_id = query.get("id")
    if not isinstance(query_id, str) or not query_id:
        raise MalformedUpdate("callback_query.id must be a non-empty string")
    sender = _obj(query.get("from"), "callback_query.from")
    sender_id = _int(sender, "id", "callback_query.from")
    message = query.get("message") if isinstance(query.get("message"), dict) else None
    chat: dict[str, Any] = {}
    chat_id = sender_id  # a button under an inline-mode message has no chat: answer privately
    if message is not None:
        chat = _obj(message.get("chat"), "callback_query.message.chat")
        chat_id = _int(chat, "id", "callback_query.message.chat")
        if not _chat_allowed(provider_id, chat, chat_id, ctx):
            return []
    data = _str(query, "data")
    extra = _sender_facts(sender, chat) | {"callback_query_id": query_id}
    if message is not None and isinstance(message.get("message_id"), int):
        extra["message_id"] = message["message_id"]
    if is_digest(data):
        extra["payload_digest"] = True  # resolve with telegram_render.resolve_payload
    title = _button_title(message, data)
    return [
        Inbound(
            provider_id=provider_id,
            address=Address(CHANNEL, CHANNEL, ctx.account, str(chat_id)),
            kind=Kind.BUTTON,
            text=title or data,
            payload=data,
            raw=dict(raw),
            external_id=str(sender_id),
            profile_name=_full_name(sender),
            extra=extra,
        )
    ]


def _button_title(message: Mapping[str, Any] | None, data: str) -> str:
    """The pressed button's label, from the keyboard Telegram echoes back with the message."""
    markup = message.get("reply_markup") if message else None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                return _str(button, "text")
    return ""
