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
# Frequent words (folded) that are clearly one language or the other.
_TR_WORDS = frozenset(
    """
    acaba ama ben beni bana benim bir biraz bu bunu burada da daha de degil diye evet gibi hayir
    hala hangi icin ile ise istiyorum istemiyorum kac kacta kadar ki lutfen mi mu misiniz miyim
    musunuz nasil ne neden nerede nerde nereden niye olarak olur sen siz size sizin simdi tamam
    var ve veya ya yok zaman merhaba merhabalar selam slm mrb tesekkurler tesekkur sagol
    sagolun gorusuruz hoscakal iyi gunler aksamlar gunaydin yardim siparis siparisim kargo
    kargom iade odeme ederim eder musteri temsilci destek ucret ucreti fiyat saat acik
    """.split()
)
_EN_WORDS = frozenset(
    """
    a about am an and are at be been can could did do does for from get got had has have hello
    hi how i if in is it its me my no not of on or our please so thank thanks that the there
    this to was we were what when where which who why will with would you your yes hey bye
    goodbye ok okay order orders package parcel refund return returns shipping delivery payment
    pay cost price hours open close help want need talk speak agent human person track status
    cancel account card money bill store item size time today tomorrow good great nice much
    loan rate rates buy see new lost
    """.split()
)
# Letter groups Turkish spelling does not produce (no w, q, x; ç and ş instead of ch and sh).
_EN_SHAPE = re.compile(r"[wqx]|th|sh|ch|gh|ph|ck|ee|oo|ing$|tions?$|ments?$|able$|ive$|ed$|ly$")
# Frequent Turkish endings (folded): plural, possessive, question particles, cases, verb forms.
_TR_SHAPE = re.compile(
    r"(?:lar|ler|lari|leri|iyor|iyorum|uyor|miyim|misin|misiniz|musunuz|im|um|imi|imiz|niz"
    r"|dir|dur|tir|tur|da|de|dan|den|ta|te|tan|ten|ya|ye|yla|yle|mak|mek|cak|cek|medi|madi)$"
)


def detect_language(text: str) -> Language:
    """Guess ``"tr"`` or ``"en"`` cheaply; Turkish is the default when the evidence is even."""
    if _TR_LETTERS.search(text):
        return "tr"
    tr = en = 0.0
    for token in tokenize(text):
        if token in _EN_WORDS:
            en += 1.0
        elif token in _TR_WORDS:
            tr += 1.0
        elif _EN_SHAPE.search(token):
            en += 0.5
        elif len(token) > 4 and _TR_SHAPE.search(token):
            tr += 0.5
    return "en" if en > tr else "tr"
