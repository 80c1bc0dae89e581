"""Fitting an `Outbound` to SMS or to WhatsApp as Twilio carries it.

SMS: buttons become numbered lines ("1) Evet"), media become links (MMS only works in the US and
Canada; a link works everywhere), and the whole reply is kept within the configured number of
segments: the text is cut on a word boundary with "..." while the numbered options stay whole,
because a reply the customer cannot answer is worse than a shortened one, and a long reply split
into several SMS would silently multiply the cost the limit exists to cap.

WhatsApp through Twilio: free-form messages cannot carry quick-reply buttons (those need a
Content template, `Template.content_sid`), so buttons are numbered text too; text is split into
messages of at most 1600 characters; one media item per message.
"""

from __future__ import annotations

from dataclasses import replace

from adapters import sms_encoding
from adapters.textsplit import split_text
from bot.model import Button, Outbound

WHATSAPP_MAX_TEXT = 1600  # Twilio's Body limit
WHATSAPP_MAX_CAPTION = 1024
# Ten segments keep any text within Twilio's 1600-character Body limit (10 x 153 septets).
SMS_SEGMENT_CEILING = 10


def numbered(buttons: list[Button]) -> str:
    """'1) Evet' lines; the core maps a numbered answer back to the button's payload."""
    return "\n".join(f"{i}) {b.title}" for i, b in enumerate(buttons, start=1))


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def render_sms(outbound: Outbound, max_segments: int) -> list[Outbound]:
    links = "\n".join(m.url for m in outbound.media if m.url)
    body = _join(outbound.text, links)
    options = numbered(outbound.buttons)
    suffix = f"\n\n{options}" if options and body else options
    limit = min(max(max_segments, 1), SMS_SEGMENT_CEILING)
    # A rendered message renders to itself, so send() may render again safely.
    return [
        Outbound(text=sms_encoding.truncate(body, limit, suffix=suffix), intent=outbound.intent)
    ]


def render_whatsapp(outbound: Outbound) -> list[Outbound]:
    if outbound.template is not None:
        return [outbound]  # sent as a Content template; its text lives at Twilio
    text = _join(outbound.text, numbered(outbound.buttons))
    media = list(outbound.media)
    intent = outbound.intent
    # Captions move into Body (and out of the Media) so that rendering again changes nothing.
    if len(media) == 1:
        caption = _join(text, media[0].caption)
        if len(caption) <= WHATSAPP_MAX_CAPTION:
            return [Outbound(text=caption, media=[replace(media[0], caption="")], intent=intent)]
    parts = [Outbound(text=chunk, intent=intent) for chunk in split_text(text, WHATSAPP_MAX_TEXT)]
    for item in media:
        caption = item.caption[:WHATSAPP_MAX_CAPTION]
        parts.append(Outbound(text=caption, media=[replace(item, caption="")], intent=intent))
    return parts or [outbound]
