"""Fitting an `Outbound` to the WhatsApp Cloud API, and the Graph request body for one part.

`render` decides the parts (text split at 4096 characters, one media item per message, the last
text chunk carrying the buttons); `message_body` decides the wire shape of one part: up to
3 buttons are reply buttons, 4-10 a list message, more than 10 numbered text.
"""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from typing import Any

from adapters.textsplit import split_text
from bot.model import Button, Media, Outbound, Template

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_CAPTION = 1024
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
REPLY_TITLE = 20
ROW_TITLE, ROW_DESCRIPTION = 24, 72
# Interactive messages need a body; used when the bot sent buttons without text.
EMPTY_BODY = "👇"
LIST_LABELS = {"tr": "Seçenekler", "en": "Options"}
CAPTIONED = ("image", "video", "document")


def media_type(media: Media) -> str:
    """image / video / audio / sticker / document, from the content type or the URL."""
    content_type = media.content_type or mimetypes.guess_type(media.url)[0] or ""
    major = content_type.split("/", 1)[0]
    if content_type == "image/webp":
        return "sticker"
    return major if major in ("image", "video", "audio") else "document"


def _numbered(buttons: list[Button]) -> str:
    return "\n".join(f"{i}) {b.title}" for i, b in enumerate(buttons, start=1))


def render(outbound: Outbound) -> list[Outbound]:
    """Parts in sending order; a rendered part renders to itself."""
    if outbound.template is not None:
        return [outbound]
    intent = outbound.intent
    text, buttons = outbound.text, list(outbound.buttons)
    if len(buttons) > MAX_LIST_ROWS:
        text, buttons = "\n\n".join(p for p in (text, _numbered(buttons)) if p), []
    media = list(outbound.media)
    if len(media) == 1 and not buttons and media_type(media[0]) in CAPTIONED:
        caption = "\n\n".join(p for p in (text, media[0].caption) if p)
        if len(caption) <= MAX_CAPTION:
            return [Outbound(text=caption, media=[replace(media[0], caption="")], intent=intent)]
    chunks = split_text(text, MAX_TEXT)
    if buttons:
        # The last chunk becomes the body of the interactive message, which holds 1024.
        tail = split_text(chunks.pop() if chunks else "", MAX_INTERACTIVE_BODY) or [""]
        chunks += tail[:-1]
        chunks.append(tail[-1])
    parts = [Outbound(text=chunk, intent=intent) for chunk in chunks]
    if buttons:
        parts[-1].buttons = buttons
    for item in media:
        caption = item.caption[:MAX_CAPTION]
        if caption and media_type(item) not in CAPTIONED:
            parts.append(Outbound(text=caption, intent=intent))  # audio/sticker: no caption
            caption = ""
        parts.append(Outbound(text=caption, media=[replace(item, caption="")], intent=intent))
    return parts or [outbound]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _template(template: Template) -> dict[str, Any]:
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.variables:
        parameters = [{"type": "text", "text": v} for v in template.variables]
        body["components"] = [{"type": "body", "parameters": parameters}]
    return body


def _interactive(text: str, buttons: list[Button], list_label: str) -> dict[str, Any]:
    body = {"text": text or EMPTY_BODY}
    if len(buttons) <= MAX_REPLY_BUTTONS:
        replies = [
            {"type": "reply", "reply": {"id": b.payload, "title": _clip(b.title, REPLY_TITLE)}}
            for b in buttons
        ]
        return {"type": "button", "body": body, "action": {"buttons": replies}}
    rows = []
    for b in buttons:
        row = {"id": b.payload, "title": _clip(b.title, ROW_TITLE)}
        if len(b.title) > ROW_TITLE:  # the full title stays readable as the description
            row["description"] = _clip(b.title, ROW_DESCRIPTION)
        rows.append(row)
    action = {"button": list_label, "sections": [{"rows": rows}]}
    return {"type": "list", "body": body, "action": action}


def _media(item: Media, caption: str) -> tuple[str, dict[str, Any]]:
    kind = media_type(item)
    body: dict[str, Any] = {"link": item.url} if item.url else {"id": item.ref}
    if caption and kind in CAPTIONED:
        body["caption"] = caption
    return kind, body


def message_body(part: Outbound, to: str, *, language: str = "tr") -> dict[str, Any]:
    """The JSON for POST /{version}/{phone_number_id}/messages for one rendered part."""
    message: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    message["to"] = to
    if part.template is not None:
        message.update(type="template", template=_template(part.template))
    elif part.media:
        kind, body = _media(part.media[0], part.text)
        message.update({"type": kind, kind: body})
    elif part.buttons:
        label = LIST_LABELS.get(language, LIST_LABELS["en"])
        message.update(type="interactive", interactive=_interactive(part.text, part.buttons, label))
    else:
        message.update(type="text", text={"preview_url": False, "body": part.text})
    return message
