"""Customer satisfaction after a closed conversation: the question, the answer, the thanks.

The question goes out on close; the customer's next message, if it is a rating ("5",
"4/5", "⭐⭐⭐", "5 - çok hızlıydınız"), is stored on the closed conversation instead of
going to the bot (see HandoffService.capture_rating, called by the turn runner).
"""

from __future__ import annotations

import re
from datetime import timedelta

# How long after the question an answer still counts.
WINDOW = timedelta(hours=24)

# A digit 1-5, optionally "/5", then nothing or a separator and a comment. "2 ürün eksik"
# (a digit, a space, words) is not a rating: it goes to the bot as a message.
_ANSWER = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*(?:$|[-–—.,:;!)]\s*(.*))", re.DOTALL)
_STARS = re.compile(r"^\s*((?:⭐|★){1,5})\s*$")


def question(lang: str) -> str:
    if lang == "en":
        return (
            "This conversation is now closed. How would you rate our service from 1 (very "
            "poor) to 5 (excellent)? Just reply with the number."
        )
    return (
        "Görüşmemiz sona erdi. Aldığınız hizmeti 1 (çok kötü) ile 5 (çok iyi) arasında "
        "puanlar mısınız? Yalnızca rakamı yazmanız yeterli."
    )


def thanks(lang: str) -> str:
    if lang == "en":
        return "Thank you for your rating! Write to us any time if you need anything else."
    return "Puanınız için teşekkür ederiz! Başka bir konuda yardım için dilediğiniz zaman yazın."


def parse(text: str, payload: str = "") -> tuple[int, str] | None:
    """(score, comment) when the message is a 1-5 rating, else None."""
    if payload.startswith("csat:") and payload[5:] in {"1", "2", "3", "4", "5"}:
        return int(payload[5:]), ""
    stars = _STARS.match(text)
    if stars:
        return len(stars.group(1)), ""
    match = _ANSWER.match(text)
    if match is None:
        return None
    return int(match.group(1)), (match.group(2) or "").strip()[:1000]
