"""Phone numbers to E.164 (`0532 …`, `+90 532 …` and `90532…` are one number)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_DIGITS_ONLY = re.compile(r"^\d{11,15}$")


@lru_cache(maxsize=8192)  # every inbound SMS / WhatsApp message asks; parsing costs ~0.1 ms
def normalize_phone(raw: str, region: str = "TR") -> str | None:
    """E.164 with the `+`, or None when `raw` is not a possible phone number."""
    text = raw.strip()
    if text.startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and _DIGITS_ONLY.match(digits):
        # "90532…" or a WhatsApp wa_id: international digits without the plus.
        candidates.insert(0, "+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


# A phone number someone typed in a chat message ("numaram 0532 111 22 33").
PHONE_IN_TEXT = re.compile(r"(?<![\d+])(\+?\d[\d\s().-]{8,18}\d)(?!\d)")


def find_phone(text: str, region: str = "TR") -> str | None:
    for match in PHONE_IN_TEXT.finditer(text):
        phone = normalize_phone(match.group(1), region)
        if phone:
            return phone
    return None
