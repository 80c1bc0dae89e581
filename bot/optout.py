"""Opt-out and opt-in keywords on SMS and WhatsApp (carriers' and Twilio's words + Turkish)."""

from __future__ import annotations

from typing import Literal

from bot.textnorm import normalize

OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "iptal", "dur"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes", "basla"})
OPT_CHANNELS = frozenset({"sms", "whatsapp"})

CONFIRMATION_INTENTS = frozenset({"optout_confirmation", "optin_confirmation"})


def opt_keyword(channel: str, text: str) -> Literal["out", "in"] | None:
    """A message that is exactly one opt word (any case, Turkish letters folded: İPTAL, BAŞLA)."""
    if channel not in OPT_CHANNELS:
        return None
    word = normalize(text)
    if word in OPT_OUT_WORDS:
        return "out"
    if word in OPT_IN_WORDS:
        return "in"
    return None


def confirmation(kind: Literal["out", "in"], language: str) -> str:
    if kind == "out":
        if language == "en":
            return "You are unsubscribed and will get no more messages here. Reply START to rejoin."
        return (
            "Aboneliğiniz iptal edildi; bu kanaldan artık mesaj almayacaksınız. "
            "Yeniden katılmak için BASLA yazın."
        )
    if language == "en":
        return "You are subscribed again. How can we help?"
    return "Aboneliğiniz yeniden başladı. Size nasıl yardımcı olabiliriz?"
