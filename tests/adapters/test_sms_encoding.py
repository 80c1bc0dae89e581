from __future__ import annotations

import random

import pytest

from adapters import sms_encoding
from adapters.sms_encoding import encoding, segments, split, truncate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Merhaba", "GSM-7"),
        ("ÖÜÇöü", "GSM-7"),  # in the GSM-7 default alphabet
        ("Öğrenci", "UCS-2"),  # ğ is not
        ("çay", "UCS-2"),  # lowercase ç is not, capital Ç is
        ("Çay", "GSM-7"),
        ("şeker", "UCS-2"),
        ("Şeker", "UCS-2"),
        ("ılık", "UCS-2"),
        ("İstanbul", "UCS-2"),
        ("Ğ", "UCS-2"),
        ("Fiyat 10€ [indirim] {x} ~ | ^ \\", "GSM-7"),  # extension table
        ("merhaba 👋", "UCS-2"),
        ("", "GSM-7"),
    ],
)
def test_encoding(text: str, expected: str) -> None:
    assert encoding(text) == expected


def test_gsm7_single_segment_boundary() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2  # 2 x 153
    assert segments("a" * 307) == 3


def test_ucs2_single_segment_boundary() -> None:
    assert segments("ğ" * 70) == 1
    assert segments("ğ" * 71) == 2
    assert segments("ğ" * 134) == 2  # 2 x 67
    assert segments("ğ" * 135) == 3


def test_one_turkish_letter_turns_the_whole_message_into_ucs2() -> None:
    text = "a" * 100
    assert segments(text) == 1
    assert segments(text + "ş") == 2  # 101 UCS-2 units > 70


def test_extension_characters_count_two_septets() -> None:
    assert sms_encoding.length("€") == 2
    assert segments("€" * 80) == 1  # 160 septets
    assert segments("€" * 80 + "a") == 2
    assert segments("a" * 159 + "€") == 2


def test_escape_pair_is_never_split() -> None:
    # 152 septets, then "€" (2 septets) would straddle the 153 boundary: it moves whole.
    text = "a" * 152 + "€" + "b" * 10
    parts = split(text)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")
    assert "".join(parts) == text


def test_surrogate_pair_is_never_split() -> None:
    # 66 units, then an emoji (2 UTF-16 units) would straddle the 67 boundary: it moves whole.
    text = "ğ" * 66 + "😀" + "ğ" * 10
    assert sms_encoding.length("😀") == 2
    parts = split(text)
    assert parts[0] == "ğ" * 66
    assert parts[1].startswith("😀")
    assert "".join(parts) == text
    assert segments("😀" * 35) == 1  # 70 units
    assert segments("😀" * 36) == 2
    # 34 emoji per concatenated segment (68 > 67 units would split one): never cut
    assert all(len(p.encode("utf-16-le")) // 2 <= 67 for p in split("😀" * 100))


def test_empty_text_has_no_segments() -> None:
    assert segments("") == 0
    assert split("") == []


def test_describe() -> None:
    assert sms_encoding.describe("Öğrenci") == {"encoding": "UCS-2", "segments": 1, "length": 7}


def test_truncate_keeps_suffix_and_cuts_on_a_word() -> None:
    text = " ".join(["kelime"] * 100)  # 699 GSM-7 chars
    options = "\n\n1) Evet\n2) Hayır"  # ı: UCS-2
    cut = truncate(text, 3, suffix=options)
    assert cut.endswith("...\n\n1) Evet\n2) Hayır")
    assert segments(cut) <= 3
    body = cut[: -len("..." + options)]
    assert body.endswith("kelime") and body.strip() == body  # cut between words
    assert segments(truncate(text, 3, suffix=options + "x")) <= 3


def test_truncate_returns_text_that_fits_unchanged() -> None:
    assert truncate("Merhaba", 1, suffix="\n\n1) Evet") == "Merhaba\n\n1) Evet"


def test_truncate_uses_a_gsm7_ellipsis_so_gsm7_text_stays_gsm7() -> None:
    cut = truncate("a " * 200, 1)
    assert encoding(cut) == "GSM-7"
    assert segments(cut) == 1


def test_counts_agree_with_per_character_costs() -> None:
    """`length` counts in C; it must equal the per-character costs `split` cuts by."""
    rng = random.Random(7)
    alphabet = "abcÇçşŞğıİöÜ€[]{}^~|\\ 1\n" + "😀"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        enc = sms_encoding.encoding(text)
        assert sms_encoding.length(text) == sum(sms_encoding._units(text, enc))
        assert "".join(sms_encoding.split(text)) == text
        assert sms_encoding.is_gsm7(text) == all(
            ch in sms_encoding.GSM7_BASIC or ch in sms_encoding.GSM7_EXTENSION for ch in text
        )


def _walked(text: str) -> list[str]:
    """Segments cut character by character, the way the network counts them."""
    enc = sms_encoding.encoding(text)
    units = sms_encoding._units(text, enc)
    if sum(units) <= (160 if enc == "GSM-7" else 70):
        return [text] if text else []
    limit = 153 if enc == "GSM-7" else 67
    parts, start, used = [], 0, 0
    for i, cost in enumerate(units):
        if used + cost > limit:
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    return [*parts, text[start:]]


def test_the_one_unit_shortcuts_cut_where_the_walk_cuts() -> None:
    """`split` and `segments` skip the walk when every character is one unit; with or
    without two-unit characters they must agree with it."""
    rng = random.Random(11)
    for alphabet in ("ab 1\n.", "abçşğıİ ", "ab€[ ", "abş😀 "):
        for _ in range(300):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 700)))
            assert sms_encoding.split(text) == _walked(text)
            assert segments(text) == len(_walked(text))
