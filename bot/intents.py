"""Fuzzy intent matching (Turkish and English) with rapidfuzz, rejecting out-of-scope text.

How a message is scored against an intent:

* Text is normalized (:mod:`bot.textnorm`: Turkish case folding, diacritics folded), letter runs
  are squeezed (``merhabaaa``) and function words dropped; a message made only of function
  words ("ne", "bir", "the", "is") matches nothing.
* Each remaining token is linked to tokens of the examples: exactly, as a typo (rapidfuzz OSA
  distance, 1 edit up to 7 letters, 2 beyond), or as the same stem with other suffixes
  (``siparişim`` ~ ``siparişlerimi``, ``kargo`` ~ ``kargomu``, ``hesap`` ~ ``hesabım``), or as
  a synonym from a small Turkish/English customer-service lexicon (``masraf`` ~ ``ücret`` ~
  ``cost``). Compounds are rejoined or split (``yurtdışına`` ~ ``yurt dışına``).
* Tokens weigh by how specific they are to one intent (an IDF over intents); question words and
  auxiliaries ("nasıl", "istiyorum", "want") weigh little. A token that links to nothing weighs
  as much as the most specific word: "iptal" in "siparişimi iptal etmek istiyorum" is evidence
  that the message is about something the intents do not cover.
* An intent's score is the F1 of two weighted coverages: of the message by the intent's whole
  vocabulary (so recombined paraphrases count) and of the intent's closest example by the
  message (so one shared word with a long example is not enough).
* The best intent wins if it scores at least ``threshold`` and beats the runner-up by at least
  ``margin``; otherwise the message is out of scope and :meth:`IntentMatcher.match` returns
  ``None``. An example matched exactly (after normalization) scores 100.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.textnorm import normalize

__all__ = ["LIGHT_WORDS", "STOP_WORDS", "SYNONYMS", "IntentMatch", "IntentMatcher"]

# Function words and fillers (already folded) that must not carry a match on their own.
STOP_WORDS = frozenset(
    """
    a acaba aga ah ama ancak artik az bana bazen be ben bende beni benim beyefendi bi bile biz
    bize bizi bizim bir biraz bisey birsey bu buna bunu bunun burada da daha de diye dogrusu
    efendim falan filan gibi hala hanim hanimefendi hani hem hemen hep hic hocam icin ile ise
    iste kardesim ki mi misin misiniz miyim mu musun musunuz ne neyse o ona onu onun oyle peki
    sana sen seni senin siz size sizi sizin simdi su suna sunu ve veya ya yahu yani zaten cok
    lutfen abi abla var yok
    am an and any are be been being but by did do does for from had has have he her him his
    i im is it its just me mine my of oh on or our pls plz please really so that the them
    then there these they this those to u uh um us was we were will with would yet you your
    ur also at still
    """.split()
)
# Light words: question words and auxiliary verbs. They may match but weigh little either way,
# so "edebilir miyim" neither makes nor breaks "kargomu takip edebilir miyim".
LIGHT_WORDS = frozenset(
    """
    eder ederim ederiz edebilir edebilirim edecek edilir edilecek et etmek etmem etti ettim
    gerek gerekiyor istedim ister isterim istiyorum istiyoruz istiyordum kadar lazim mumkun
    olabilir olacak olarak oldu olmak olsun olur yapabilir yapabilirim yapacagim yapar yaparim
    yapilir yapiyor yapiyorsunuz yapmak yaptim hangi kac nasil neden nerde nerede niye zaman
    anybody anyone available can could get got need possible should somebody someone something
    want wanna how what when where which who why much many
    """.split()
)

# Words (folded) that customer-service messages use interchangeably, across the two languages:
# a message word links to an example word of the same group, so sparse intents files still
# match "kargo masrafı" to "shipping cost". Kept tight: a loose group is a false match.
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(line.split())
    for line in """
    siparis order orders
    kargo paket koli gonderi package parcel shipment
    kargo teslimat gonderim shipping delivery deliver ship courier kurye
    ucret fiyat masraf bedel tutar fee fees cost price charge
    ucretsiz bedava free
    iade return returns refund
    degisim degistirmek exchange
    odeme odemek pay payment
    taksit installment installments
    kart card
    fatura invoice bill
    insan kisi human person
    temsilci yetkili operator agent representative rep
    canli live
    destek support
    konusmak gorusmek talk speak chat
    saat saatleri hours
    acik acilis open opening
    kapali kapanis closed close closing
    pazar sunday
    cumartesi saturday
    bayram holiday holidays
    tesekkur tesekkurler sagol thanks thank thx appreciate
    gorusuruz hoscakal bye goodbye
    merhaba selam hello hi hey
    gecikme gecikti late delay delayed
    takip track tracking
    durum status
    iptal cancel
    urun item product
    para money
    yanlis wrong
    hasarli kusurlu ayipli bozuk damaged defective broken
    adres address
    sifre password
    hesap account
    bakiye balance
    telefon phone
    sikayet complaint
    havale eft transfer
    musteri customer
    hizmet hizmetleri service
    """.strip().splitlines()
)

_SQUEEZE = re.compile(r"(.)\1+")
_LIGHT = 0.25  # weight of a light word
_MAX_TOKENS = 40  # a message longer than this is judged on its first words (bounded cost)
_STEM_SIM = 0.9  # similarity of a suffix variant (siparişim ~ siparişlerimi)
_SYNONYM_SIM = 0.8  # similarity of a synonym (kargo ~ shipping)
_TYPO_COST = 1.5  # similarity lost per edit, relative to word length (kargo ~ karfo: 0.7)
_VOWELS = frozenset("aeiou")
# Endings (folded) that may follow a shared stem: Turkish case, possessive, plural and verb
# endings, and the English inflections.
_SUFFIXES = frozenset(
    """
    a e i u da de di du ta te ti tu in un im um iz uz si su yi yu ya ye mi mu ma me ca ce
    dan den tan ten dir dur tir tur lar ler mak mek miz niz nin nun imi umu ini unu ken mis
    mus yor cak cek sin sun iyor uyor acak ecek lari leri imiz iniz r ir ar ur
    s es ed er ing ion ly
    """.split()
)
_VERB_ENDING = re.compile(
    r"(?:m[ae]k?|m[ae]d[iu]|m[ae]z|m[ae]l[iu]|y?[ae]c[ae]k|y?[ae]bil|[iu]yor|[iu]?r|[ae]r|d[iu]"
    r"|m[iu]s|s[ae]|m[iu]yor)"
)
_SOFTENING = frozenset({("p", "b"), ("t", "d"), ("k", "g"), ("c", "c")})


def _key(token: str) -> str:
    """Matching key of a normalized token: letter runs squeezed (merhabaaa, hiii, selaaam)."""
    return _SQUEEZE.sub(r"\1", token)


_STOP_KEYS = frozenset(map(_key, STOP_WORDS))
_LIGHT_KEYS = frozenset(map(_key, LIGHT_WORDS))


def _content(norm: str) -> tuple[str, ...]:
    """Matching keys of the tokens of ``norm`` that are not function words, deduplicated."""
    keys = (_key(t) for t in norm.split() if t not in STOP_WORDS)
    return tuple(dict.fromkeys(k for k in keys if k not in _STOP_KEYS))


_SYN_KEYS = tuple(frozenset(map(_key, group)) for group in SYNONYMS)
_SYN_BY_PREFIX: dict[str, list[tuple[str, int]]] = {}
for _i, _group in enumerate(_SYN_KEYS):
    for _word in _group:
        _SYN_BY_PREFIX.setdefault(_word[:3], []).append((_word, _i))


def _groups(token: str) -> frozenset[int]:
    """Synonym groups of ``token``: a member itself or the same stem (kargom ~ kargo)."""
    return frozenset(
        i for w, i in _SYN_BY_PREFIX.get(token[:3], ()) if w == token or _same_stem(token, w)
    )


def _f1(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def _max_edits(length: int) -> int:
    """Typos tolerated in a word of ``length`` letters (transpositions count once)."""
    return 0 if length <= 3 else 1 if length <= 7 else 2


def _same_stem(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` look like one word with different Turkish/English endings."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 4 or short == long_:
        return False
    cp = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        cp += 1
    tail, rest = short[cp:], long_[cp:]
    if cp in (3, 4) and len(short) >= 5 and _VERB_ENDING.match(tail) and _VERB_ENDING.match(rest):
        return True  # short verb roots: gel-medi ~ gel-ecek, öde-me ~ öde-yebilir
    if cp < 4:
        return False
    if len(tail) == 1 and (tail, rest[0]) in _SOFTENING:
        tail, rest = "", rest[1:]  # hesap ~ hesabım, kitap ~ kitabı
    if tail and tail not in _SUFFIXES:
        return False  # "transfer" is not "trans" + "fer"
    if cp >= 5 or not rest:
        return True
    # Four-letter stems clash easily (hava ~ havale), so the longer word must go on with a
    # vowel, a buffer consonant after a vowel (iade ~ iadesi), a doubling (ship ~ shipping)
    # or a known ending (isim ~ isimde, kartı ~ kartlar).
    last = long_[cp - 1]
    if rest[0] in _VOWELS or rest[0] == last or (last in _VOWELS and rest[0] in "symn"):
        return True
    return any(rest[:k] in _SUFFIXES for k in (2, 3, 4))


@dataclass(frozen=True, slots=True)
class IntentMatch:
    """The intent a text was matched to; ``score`` is 0..100, ``example`` the closest one."""

    name: str
    score: float
    example: str | None = None


@dataclass(frozen=True, slots=True)
class _Example:
    intent: str
    text: str
    tokens: tuple[str, ...]
    weight: float  # sum of the token weights


class IntentMatcher:
    """Match texts to the intents of an intents file, or to nothing."""

    def __init__(
        self,
        intents: Mapping[str, Iterable[str]],
        *,
        language: str = "tr",
        threshold: float = 47.0,
        margin: float = 1.0,
    ) -> None:
        self.language = language  # the intents file's main language, for callers
        self.threshold = threshold
        self.margin = margin
        self.intents: tuple[str, ...] = tuple(intents)
        self._exact: dict[str, tuple[str, str]] = {}
        parsed: list[tuple[str, str, tuple[str, ...]]] = []
        token_intents: dict[str, set[str]] = {}
        for name, texts in intents.items():
            for text in map(str, texts):
                norm = normalize(text)
                if not norm:
                    continue
                self._exact.setdefault(" ".join(map(_key, norm.split())), (name, text))
                tokens = _content(norm)
                if tokens:
                    parsed.append((name, text, tokens))
                for token in tokens:
                    token_intents.setdefault(token, set()).add(name)
        # Specificity: a token seen in few intents weighs more; an unknown one weighs the most.
        n = max(len(self.intents), 1)
        self._oov_weight = math.log(1.0 + n)
        self._weight = {
            t: _LIGHT if t in _LIGHT_KEYS else math.log(1.0 + n / len(s))
            for t, s in token_intents.items()
        }
        self._examples = [
            _Example(name, text, tokens, sum(self._weight[t] for t in tokens))
            for name, text, tokens in parsed
        ]
        self._vocab = sorted(token_intents)
        self._token_intents = {t: tuple(s) for t, s in token_intents.items()}
        self._token_examples: dict[str, list[int]] = {}
        self._by_prefix: dict[str, list[str]] = {}  # first three letters -> vocabulary tokens
        for i, ex in enumerate(self._examples):
            for token in ex.tokens:
                self._token_examples.setdefault(token, []).append(i)
        self._by_group: dict[int, list[str]] = {}  # synonym group -> vocabulary tokens
        for token in self._vocab:
            if len(token) >= 4:
                self._by_prefix.setdefault(token[:3], []).append(token)
            for group in _groups(token):
                self._by_group.setdefault(group, []).append(token)
        self._links: dict[str, dict[str, float]] = {}  # cache: query token -> links
        self._scored: dict[tuple[str, ...], list[IntentMatch]] = {}  # cache, see _scores

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **options: Any) -> IntentMatcher:
        """Build from ``{language: tr, intents: {NAME: {examples: [...]}}}``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("intents"), Mapping):
            raise ValueError("intents file must be a mapping with an 'intents' mapping")
        intents: dict[str, list[str]] = {}
        for name, spec in data["intents"].items():
            examples = spec.get("examples") if isinstance(spec, Mapping) else spec
            if not isinstance(examples, list) or not examples:
                raise ValueError(f"intent {name!r} needs a non-empty 'examples' list")
            intents[str(name)] = [str(e) for e in examples]
        options.setdefault("language", str(data.get("language", "tr")))
        return cls(intents, **options)

    @classmethod
    def from_yaml(cls, path: str | Path, **options: Any) -> IntentMatcher:
        """Build from an intents YAML file."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(yaml.safe_load(fh), **options)

    # --- matching -----------------------------------------------------------------------------

    def match(self, text: str) -> IntentMatch | None:
        """The intent of ``text``, or ``None`` when it is out of scope or ambiguous."""
        ranked = self.rank(text, limit=2)
        if not ranked or ranked[0].score < self.threshold:
            return None
        if ranked[0].score < 100.0 and len(ranked) > 1:
            if ranked[0].score - ranked[1].score < self.margin:
                return None
        return ranked[0]

    def rank(self, text: str, limit: int = 5) -> list[IntentMatch]:
        """The best ``limit`` intents for ``text``, best first, with their scores (debugging)."""
        norm = normalize(text)
        exact = self._exact.get(" ".join(map(_key, norm.split())))
        ranked = self._scores(norm)
        if exact:
            name, example = exact
            ranked = [IntentMatch(name, 100.0, example), *(m for m in ranked if m.name != name)]
        return ranked[:limit]

    def _link(self, token: str) -> dict[str, float]:
        """Vocabulary tokens that ``token`` may stand for, with their similarity 0..1."""
        links = self._links.get(token)
        if links is not None:
            return links
        if token.isdigit() and token not in self._weight:
            # An order number is no typo of a word. Not cached either: numbers are an open
            # set, and ten thousand of them would flush the words that repeat.
            return {}
        links = {token: 1.0} if token in self._weight else {}
        # A word we know is taken as typed: "card" is not a typo of "care".
        edits = 0 if links else _max_edits(len(token))
        if edits:
            hits = process.extract(
                token, self._vocab, scorer=OSA.distance, score_cutoff=edits, limit=None
            )
            for cand, dist, _ in hits:
                if not 0 < dist <= _max_edits(len(cand)):
                    continue
                if len(cand) == len(token) <= 4 and sorted(cand) != sorted(token):
                    continue  # a changed letter in a short word is another word: love ~ live
                sim = 1.0 - _TYPO_COST * dist / max(len(token), len(cand))
                links[cand] = max(links.get(cand, 0.0), sim)
        for cand in self._by_prefix.get(token[:3], ()) if len(token) >= 4 else ():
            if _same_stem(token, cand):
                links[cand] = max(links.get(cand, 0.0), _STEM_SIM)
        for group in _groups(token):
            for cand in self._by_group.get(group, ()):
                links[cand] = max(links.get(cand, 0.0), _SYNONYM_SIM)
        if len(self._links) > 10_000:  # bounded: query tokens are an open set
            self._links.clear()
        self._links[token] = links
        return links

    def _compounds(self, tokens: tuple[str, ...]) -> list[str]:
        """Rejoin or split compounds the examples write otherwise (sağ olun ~ sağolun)."""
        known = self._weight
        out: list[str] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt and token + nxt in known and not (token in known and nxt in known):
                out.append(token + nxt)
                i += 2
                continue
            i += 1
            if token not in known and len(token) >= 6:
                for cut in range(len(token) - 3, 2, -1):  # yurtdışına ~ yurt dışına
                    head, tail = token[:cut], token[cut:]
                    if head in known and (
                        tail in known
                        or any(_same_stem(tail, v) for v in self._by_prefix.get(tail[:3], ()))
                    ):
                        out += (head, tail)
                        break
                else:
                    out.append(token)
            else:
                out.append(token)
        return out

    def _token_weight(self, token: str, links: dict[str, float]) -> float:
        """Light words weigh little, unknown ones the most, others as their closest link."""
        if token in _LIGHT_KEYS:
            return _LIGHT
        if not links:
            return self._oov_weight
        best = max(links.values())
        return max(self._weight[v] for v, s in links.items() if s == best)

    def _scores(self, norm: str) -> list[IntentMatch]:
        """Every intent that shares a word with ``norm``, scored 0..100, best first."""
        tokens = self._compounds(_content(norm)[:_MAX_TOKENS])
        if not tokens:
            return []
        links = [self._link(t) for t in tokens]
        # A token counts only through its links and weight, so every unknown word (an order
        # number, a name) is alike: "sipariş 1042" and "sipariş 77" share one cache entry.
        key = tuple(
            t if ls or t in _LIGHT_KEYS else "" for t, ls in zip(tokens, links, strict=True)
        )
        cached = self._scored.get(key)
        if cached is not None:
            return cached
        weights = [self._token_weight(t, ls) for t, ls in zip(tokens, links, strict=True)]
        total = sum(weights)
        # How much of the message each intent's vocabulary explains (recombined paraphrases
        # count), and how well each vocabulary token is matched.
        explained: dict[str, float] = {}
        matched: dict[str, float] = {}
        for w, ls in zip(weights, links, strict=True):
            best: dict[str, float] = {}
            for v, s in ls.items():
                matched[v] = max(matched.get(v, 0.0), s)
                for intent in self._token_intents[v]:
                    best[intent] = max(best.get(intent, 0.0), s)
            for intent, s in best.items():
                explained[intent] = explained.get(intent, 0.0) + w * s
        # How much of its closest example the message covers; the score is the F1 of both.
        covered: dict[str, tuple[float, str]] = {}
        for i in {i for v in matched for i in self._token_examples[v]}:
            ex = self._examples[i]
            share = sum(self._weight[v] * matched.get(v, 0.0) for v in ex.tokens) / ex.weight
            if share > covered.get(ex.intent, (0.0, ""))[0]:
                covered[ex.intent] = (share, ex.text)
        results = [
            IntentMatch(intent, round(100.0 * _f1(explained[intent] / total, share), 2), text)
            for intent, (share, text) in covered.items()
        ]
        results.sort(key=lambda m: m.score, reverse=True)
        if len(self._scored) > 10_000:  # bounded: texts are an open set
            self._scored.clear()
        self._scored[key] = results
        return results
