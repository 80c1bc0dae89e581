"""SMS encoding: GSM-7 or UCS-2, and how many segments a text costs.

Follows 3GPP TS 23.038 as Twilio applies it (no national shift tables): a text that fits the
GSM-7 default alphabet plus its extension table is sent as GSM-7 (160 septets in one segment,
153 per segment when concatenated, an extension character takes two septets and its escape pair
is never split); anything else is UCS-2 (70 UTF-16 code units, 67 when concatenated, a surrogate
pair is never split). For Turkish, Ö ö Ü ü and capital Ç are GSM-7; ç ş Ş ğ Ğ ı İ are not.
"""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The GSM 03.38 default alphabet (the escape code 0x1B itself is not a character of text).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape code, so each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


_GSM7 = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def encoding(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _units(text: str, enc: Encoding) -> list[int]:
    """The cost of each character in the encoding's units (septets or UTF-16 code units)."""
    if enc == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _length(text: str, enc: Encoding) -> int:
    # Counted in C: every sent SMS is measured at least twice (truncate, then describe).
    if enc == "GSM-7":
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def length(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    return _length(text, encoding(text))


def split(text: str) -> list[str]:
    """The text as the network carries it: one string per segment.

    A character is never cut in two: an escape pair or a surrogate pair that would straddle a
    segment boundary moves whole to the next segment (which is why counting can exceed
    ``ceil(length / 153)``).
    """
    if not text:
        return []
    enc = encoding(text)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if enc == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    length = _length(text, enc)
    if length <= single:
        return [text]
    if length == len(text):  # every character one unit: plain slices, nothing straddles
        return [text[i : i + multi] for i in range(0, length, multi)]
    units = _units(text, enc)
    parts: list[str] = []
    start, used = 0, 0
    for i, cost in enumerate(units):
        if used + cost > multi:
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    parts.append(text[start:])
    return parts


def segments(text: str) -> int:
    """How many SMS segments the text is billed as (0 for an empty text)."""
    return len(split(text))  # split slices without a walk whenever it can


def describe(text: str) -> dict[str, str | int]:
    """What is worth storing next to a sent SMS."""
    return {"encoding": encoding(text), "segments": segments(text), "length": length(text)}


def truncate(text: str, max_segments: int, *, suffix: str = "", ellipsis: str = "...") -> str:
    """`text` + `suffix` cut so that it fits in `max_segments`, on a word boundary if possible.

    The suffix (e.g. numbered options the customer must see) is kept whole; the text loses its
    tail and gets `ellipsis`. The default ellipsis is three dots because "…" is not GSM-7 and
    would switch the whole message to UCS-2. Returns `text + suffix` unchanged when it fits.
    """
    whole = text + suffix
    if max_segments <= 0 or segments(whole) <= max_segments:
        return whole
    if segments(ellipsis.strip() + suffix) > max_segments:
        # Not even the suffix fits: cut everything, hard.
        return _longest_prefix(whole, max_segments, ellipsis)

    def fits(cut: int) -> bool:
        return segments(text[:cut].rstrip() + ellipsis + suffix) <= max_segments

    # Segments grow monotonically with the prefix, so a binary search finds the longest cut.
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    cut = lo
    boundary = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    # Prefer the word boundary unless it throws away most of what fits.
    if boundary > cut // 2:
        cut = boundary
    return text[:cut].rstrip() + ellipsis + suffix


def _longest_prefix(text: str, max_segments: int, ellipsis: str) -> str:
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(text[:mid] + ellipsis) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ellipsis
