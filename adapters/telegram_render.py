"""Fitting an `Outbound` to Telegram's limits.

Telegram caps a text at 4096 characters, a caption at 1024 and a button's callback_data at
64 bytes. `render` turns one `Outbound` into parts that each fit one Bot API call: at most one
media per part with its caption in `text`, long texts split, buttons on the last part.
Rendering a rendered part returns it unchanged, so the outbox may render before or inside send.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from adapters.textsplit import split_text
from bot.model import PAYLOAD_DIGEST_PREFIX, Button, Media, Outbound, payload_digest

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
# Marks callback_data that stands for a payload too long for Telegram (see `callback_data`).
DIGEST_PREFIX = PAYLOAD_DIGEST_PREFIX
# Content types Telegram shows as a photo; anything else (gif, svg, pdf…) goes as a document.
PHOTO_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})


def callback_data(payload: str) -> str:
    """The callback_data for a button payload.

    Payloads up to 64 bytes go as they are. Longer ones (and ones that could be mistaken for a
    digest) become ``sha256:<43 base64url chars>``: deterministic and stateless, so the core can
    map a pressed button back to its payload with `resolve_payload` over the buttons it sent,
    the same way it maps a numbered SMS answer back to a button.
    """
    raw = payload.encode("utf-8")
    if 0 < len(raw) <= MAX_CALLBACK_BYTES and not payload.startswith(DIGEST_PREFIX):
        return payload
    return payload_digest(payload)


def is_digest(data: str) -> bool:
    return data.startswith(DIGEST_PREFIX)


def resolve_payload(data: str, buttons: Sequence[Button]) -> str | None:
    """The payload of the button whose callback_data is `data`, if one of `buttons` has it."""
    for button in buttons:
        if callback_data(button.payload) == data:
            return button.payload
    return None


def media_kind(media: Media) -> str:
    """``photo`` or ``document``: the Bot API method family that shows this media best."""
    content_type = media.content_type.split(";")[0].strip().lower()
    if not content_type and media.url:
        content_type = mimetypes.guess_type(urlsplit(media.url).path)[0] or ""
    return "photo" if content_type in PHOTO_TYPES else "document"


def _part(outbound: Outbound, text: str = "", media: Media | None = None) -> Outbound:
    # `replace` keeps intent, meta and whatever the model grows; templates are WhatsApp's.
    return replace(outbound, text=text, media=[media] if media else [], buttons=[], template=None)


def render(outbound: Outbound) -> list[Outbound]:
    """Split `outbound` into parts that each fit one sendMessage / sendPhoto / sendDocument."""
    text = outbound.text
    parts: list[Outbound] = []
    media = list(outbound.media)
    for item in media:
        caption = item.caption
        # A single media with a short text: one message, the text as its caption.
        if len(media) == 1 and not caption and len(text) <= MAX_CAPTION:
            caption, text = text, ""
        bare = replace(item, caption="")
        if len(caption) <= MAX_CAPTION:
            parts.append(_part(outbound, caption, bare))
        else:  # too long for a caption: the media, then its caption as text
            parts.append(_part(outbound, media=bare))
            parts.extend(_part(outbound, chunk) for chunk in split_text(caption, MAX_TEXT))
    parts.extend(_part(outbound, chunk) for chunk in split_text(text, MAX_TEXT))
    if not parts:  # nothing to say; `send` refuses it with a clear error
        parts.append(_part(outbound))
    if outbound.buttons:
        parts[-1].buttons = list(outbound.buttons)
    return parts
