"""Turkish-aware normalization and language detection."""

from __future__ import annotations

import pytest

from bot.textnorm import detect_language, fold_case, fold_diacritics, normalize, tokenize


def test_python_lower_is_wrong_for_turkish() -> None:
    # The reason fold_case exists: str.lower() leaves a combining dot and keeps I dotted.
    assert "İ".lower() == "i\u0307"
    assert "I".lower() == "i"
    assert fold_case("İ") == "i"
    assert fold_case("I") == "ı"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("IĞDIR", "ığdır"),
        ("İSTANBUL", "istanbul"),
        ("İzmir'e GİDİYORUM", "izmir'e gidiyorum"),
        ("KAPIDA ÖDEME", "kapıda ödeme"),
        ("I\u0307STANBUL", "istanbul"),  # decomposed İ (I + combining dot)
    ],
)
def test_fold_case_turkish(text: str, folded: str) -> None:
    assert fold_case(text) == folded


def test_fold_case_english_keeps_dotted_i() -> None:
    assert fold_case("I WANT A REFUND", lang="en") == "i want a refund"
    assert fold_case("İSTANBUL", lang="en") == "istanbul"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("IĞDIR", "ığdır"),
        ("İSTANBUL", "istanbul"),
        ("siparişim", "siparisim"),
        ("SİPARİŞİM NEREDE?", "siparisim nerede"),
        ("ÇALIŞMA SAATLERİ", "calisma saatleri"),
        ("Teşekkürler!!!", "tesekkurler"),
        ("hoşçakal", "HOSCAKAL"),
        ("Kâr", "kar"),
    ],
)
def test_normalize_equates_spellings(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_normalize_output() -> None:
    assert normalize("  Merhaba,   SİPARİŞİM nerede?!  ") == "merhaba siparisim nerede"
    assert normalize("IĞDIR") == "igdir"
    assert normalize("Ankara'ya kargo") == "ankaraya kargo"
    assert normalize("where's my order?") == "wheres my order"
    assert normalize("kargo_takip-no:123") == "kargo takip no 123"
    assert normalize("Crème brûlée") == "creme brulee"
    assert normalize("") == ""
    assert normalize("?!... ") == ""


@pytest.mark.parametrize("text", ["SİPARİŞİM nerede?", "IĞDIR'a kargo", "Crème", "  a  b "])
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert once.isascii()


def test_fold_diacritics() -> None:
    assert fold_diacritics("çğıöşüâîû") == "cgiosuaiu"
    assert fold_diacritics("naïve café") == "naive cafe"


def test_tokenize() -> None:
    assert tokenize("Kargom NEREDE, acaba?") == ["kargom", "nerede", "acaba"]
    assert tokenize("...") == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("siparişim nerede", "tr"),
        ("siparisim nerede", "tr"),
        ("kargom ne zaman gelir", "tr"),
        ("IADE ETMEK ISTIYORUM", "tr"),
        ("merhaba", "tr"),
        ("tesekkurler", "tr"),
        ("kapida odeme var mi", "tr"),
        ("where is my order", "en"),
        ("WHERE IS MY PACKAGE", "en"),
        ("I want to talk to a human", "en"),
        ("hello", "en"),
        ("thanks a lot", "en"),
        ("refund", "en"),
        ("what are your opening hours", "en"),
        ("cash on delivery", "en"),
        ("", "tr"),
        ("kjhkjh", "tr"),
        ("12345", "tr"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
