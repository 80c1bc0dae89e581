"""Turkish-aware text normalization for matching (hot path: pure, precompiled, str.translate).

``str.lower()`` is wrong for Turkish: it maps ``İ`` to ``i`` + U+0307 (combining dot) and ``I`` to
``i`` instead of ``ı``. :func:`fold_case` gets the dotted/dotless pairs right; :func:`normalize`
then folds diacritics so that text typed on a keyboard without Turkish letters matches
(``siparisim`` == ``siparişim``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = ["detect_language", "fold_case", "fold_diacritics", "normalize", "tokenize"]

Language = Literal["tr", "en"]

# Turkish casing: the dotted and dotless I are separate letters.
_TR_UPPER = str.maketrans({"İ": "i", "I": "ı"})
_EN_UPPER = str.maketrans({"İ": "i"})

# Letters people type without their marks. Anything not listed here falls back to NFKD below.
_DIACRITICS = str.maketrans(
    {
        "ç": "c",
        "ğ": "g",
        "ı": "i",
        "ö": "o",
        "ş": "s",
        "ü": "u",
        "â": "a",
        "î": "i",
        "û": "u",
        "é": "e",
        "è": "e",
        "ê": "e",
        "ë": "e",
        "á": "a",
        "à": "a",
        "ä": "a",
        "ó": "o",
        "ò": "o",
        "í": "i",
        "ú": "u",
        "ñ": "n",
        "ß": "ss",
        "\u0307": None,  # combining dot left over by a decomposed İ
    }
)
# Apostrophes join (don't -> dont, Ankara'ya -> ankaraya); every other non-letter splits.
_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_WORD = re.compile(r"[\W_]+")


def fold_case(text: str, lang: Language = "tr") -> str:
    """Lower-case ``text``; with ``lang="tr"`` ``I`` becomes ``ı`` and ``İ`` becomes ``i``."""
    if not text.isascii():
        # Compose first so that "I" + U+0307 (a decomposed İ) folds like İ.
        text = unicodedata.normalize("NFC", text)
    return text.translate(_TR_UPPER if lang == "tr" else _EN_UPPER).lower()


def fold_diacritics(text: str) -> str:
    """Strip accents from already lower-cased text (``ş`` -> ``s``, ``ı`` -> ``i``...)."""
    text = text.translate(_DIACRITICS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Case-fold, diacritic-fold, drop punctuation and collapse whitespace."""
    text = fold_diacritics(fold_case(text))
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def tokenize(text: str) -> list[str]:
    """Normalized tokens of ``text``."""
    return normalize(text).split()


# --- language detection -----------------------------------------------------------------------

_TR_LETTERS = re.compile(r"[çğışöüÇĞİŞÖÜ]")
_TR_WORDS = frozenset(
    """
    acaba ama ben beni bana benim bir biraz bu bunu burada da daha de degil diye evet gibi
    hayir hala hangi icin ile ise istiyorum kac kadar ki lutfen mi mu musunuz misiniz mudur
    nasil ne neden nerede nereden niye o olarak olan olur sen siz size sizin su simdi tamam
    var ve veya ya yok zaman merhaba selam tesekkurler tesekkur sagol sagolun gorusuruz
    iyi gunler aksamlar hosca kal yardim siparis kargo iade odeme ederim eder mi
    """.split()
)
_EN_WORDS = frozenset(
    """
    a about am an and are at be been can could did do does for from get got had has have hello
    hi how i if in is it its me my no not of on or our please so thank thanks that the there
    this to was we were what when where which who why will with would you your yes hey bye
    order package refund return shipping payment hours help want need talk agent human
    """.split()
)
# Frequent Turkish endings (folded): -lar/-ler, -iyor, possessives, question particles, cases.
_TR_SUFFIX = re.compile(
    r"(?:lar|ler|lari|leri|iyor|iyorum|uyor|miyim|misin|misiniz|musunuz|mi|mu|im|um|imi"
    r"|imiz|niz|dir|dur|tir|tur|da|de|dan|den|ta|te|tan|ten|ya|ye|yla|yle|mak|mek|cak|cek)$"
)


def detect_language(text: str) -> Language:
    """Guess ``"tr"`` or ``"en"`` cheaply; Turkish is the default when the evidence is even."""
    if _TR_LETTERS.search(text):
        return "tr"
    tokens = tokenize(text)
    if not tokens:
        return "tr"
    tr = en = 0.0
    for token in tokens:
        if token in _EN_WORDS:
            en += 1.0
        elif token in _TR_WORDS:
            tr += 1.0
        elif len(token) > 4 and _TR_SUFFIX.search(token):
            tr += 0.5
    return "en" if en > tr else "tr"
