"""The intent matcher, its intents files and its evaluation tool."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.intents import IntentMatch, IntentMatcher
from bot.intents_eval import load_cases, run_eval
from bot.textnorm import normalize

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
INTENTS = ROOT / "handlers" / "data" / "intents.yaml"
CASES = DATA / "intent_cases.tsv"
ALT_INTENTS = DATA / "alt_intents.yaml"
ALT_CASES = DATA / "alt_cases.tsv"
LAST_LINE = re.compile(r"^accuracy: \d\.\d\d \((\d+)/(\d+)\)$")


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    return IntentMatcher.from_yaml(INTENTS)


# --- the shipped intents file ---------------------------------------------------------------


def test_shipped_intents_have_the_names_handlers_dispatch_on() -> None:
    data = yaml.safe_load(INTENTS.read_text(encoding="utf-8"))
    assert data["language"] == "tr"
    names = {
        "greeting",
        "order_status",
        "human",
        "faq_shipping",
        "faq_returns",
        "faq_payment",
        "faq_hours",
        "thanks",
        "goodbye",
    }
    assert set(data["intents"]) == names
    for name, spec in data["intents"].items():
        assert 20 <= len(spec["examples"]) <= 40, name


def test_eval_set_is_not_a_copy_of_the_examples() -> None:
    data = yaml.safe_load(INTENTS.read_text(encoding="utf-8"))
    examples = {normalize(e) for spec in data["intents"].values() for e in spec["examples"]}
    cases = load_cases(CASES)
    assert len(cases) >= 250
    assert [c.text for c in cases if normalize(c.text) in examples] == []
    share_none = sum(c.expected == "none" for c in cases) / len(cases)
    assert 0.2 <= share_none <= 0.35
    assert {c.expected for c in cases} <= {*data["intents"], "none"}


# --- matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Suffixes, missing diacritics, Turkish capitals, typos, word order.
        ("siparişim nerede", "order_status"),
        ("siparisim nerde", "order_status"),
        ("SİPARİŞİMİ TAKİP ETMEK İSTİYORUM", "order_status"),
        ("siparişlerim hala gelmedi", "order_status"),
        ("kargomu takip edebilir miyim", "order_status"),
        ("kargom ne zmn gelir", "order_status"),
        ("nerede benim kargom", "order_status"),
        ("wheres my pakage", "order_status"),
        ("MÜŞTERİ TEMSİLCİSİNE BAĞLANMAK İSTİYORUM", "human"),
        ("canli destek lutfen", "human"),
        ("i want to talk to a real person", "human"),
        ("kargo ücretsiz mi", "faq_shipping"),
        ("how much does shipping cost", "faq_shipping"),
        ("IADE KOSULLARI", "faq_returns"),
        ("i want my money back", "faq_returns"),
        ("kapida odeme yapabilir miyim", "faq_payment"),
        ("kaç taksit yapıyorsunuz", "faq_payment"),
        ("pazar günü açık mısınız", "faq_hours"),
        ("what time do you close today", "faq_hours"),
        ("merhabaaa", "greeting"),
        ("Hİ THERE", "greeting"),
        ("çok teşekkür ederim", "thanks"),
        ("sagolun", "thanks"),
        ("görüşürüz iyi günler", "goodbye"),
        ("bye now", "goodbye"),
    ],
)
def test_match(matcher: IntentMatcher, text: str, intent: str) -> None:
    match = matcher.match(text)
    assert match is not None, matcher.rank(text)
    assert match.name == intent, matcher.rank(text)
    assert 0.0 <= match.score <= 100.0


@pytest.mark.parametrize(
    "text",
    [
        "hava nasıl",
        "bugün hava nasıl olacak",
        "bana bir şiir yaz",
        "tell me a joke",
        "what is the capital of France",
        "asdfgh",
        "ne",
        "bir",
        "the",
        "is",
        "ne bir the is",
        "",
        "   ",
        "?!...",
        "12345",
        "şifremi unuttum",
        "I forgot my password",
        "indirim kodu var mı",
        "hesabımı silmek istiyorum",
        "dolar kaç tl",
        "who won the football match",
    ],
)
def test_out_of_scope_is_rejected(matcher: IntentMatcher, text: str) -> None:
    assert matcher.match(text) is None, matcher.rank(text)


def test_exact_example_scores_100(matcher: IntentMatcher) -> None:
    match = matcher.match("SİPARİŞİM NEREDE?")
    assert match == IntentMatch("order_status", 100.0, "siparişim nerede")


def test_intent_match_is_frozen(matcher: IntentMatcher) -> None:
    match = matcher.match("kargo ücreti ne kadar")
    assert match is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.name = "other"  # type: ignore[misc]


def test_rank_is_sorted_and_limited(matcher: IntentMatcher) -> None:
    ranked = matcher.rank("kargo ücreti ve iade", limit=3)
    assert 1 < len(ranked) <= 3
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    assert {m.name for m in ranked} >= {"faq_shipping", "faq_returns"}
    assert matcher.rank("ne", limit=3) == []


def test_threshold_is_configurable() -> None:
    strict = IntentMatcher.from_yaml(INTENTS, threshold=99.0)
    assert strict.match("kargom ne zaman gelecek") is None
    assert strict.match("kargom nerede") is not None  # an exact example still matches


def test_matcher_generalizes_to_other_intents() -> None:
    matcher = IntentMatcher.from_dict(
        {
            "language": "tr",
            "intents": {
                "balance": {"examples": ["bakiyem ne kadar", "hesap bakiyesi", "my balance"]},
                "card_lost": {"examples": ["kartımı kaybettim", "kartım çalındı", "lost card"]},
                "roaming": {"examples": ["yurt dışında hattım çalışır mı", "roaming aç"]},
            },
        }
    )
    assert matcher.language == "tr"
    assert matcher.intents == ("balance", "card_lost", "roaming")
    assert getattr(matcher.match("BAKİYEMİ ÖĞRENMEK İSTİYORUM"), "name", None) == "balance"
    assert getattr(matcher.match("kartimi kaybettim"), "name", None) == "card_lost"
    assert getattr(matcher.match("yurtdışında hattım çalışır mı"), "name", None) == "roaming"
    assert matcher.match("kargom nerede") is None
    assert matcher.match("hava nasıl") is None


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"language": "tr"},
        {"intents": ["greeting"]},
        {"intents": {"greeting": {"examples": []}}},
        {"intents": {"greeting": {"responses": ["hi"]}}},
    ],
)
def test_from_dict_rejects_bad_structure(data: object) -> None:
    with pytest.raises(ValueError):
        IntentMatcher.from_dict(data)  # type: ignore[arg-type]


def test_from_dict_accepts_plain_example_lists() -> None:
    matcher = IntentMatcher.from_dict({"intents": {"thanks": ["teşekkürler", "thank you"]}})
    assert getattr(matcher.match("tesekkurler"), "name", None) == "thanks"


def test_score_cache_changes_no_result() -> None:
    """Texts that differ only in unknown words share a cache entry; every answer from the
    cache is the one computed afresh, whatever was asked before."""
    texts = [case.text for case in load_cases(CASES)]
    texts += [f"{text} 1042" for text in texts[::7]] + ["sipariş 77", "sipariş 1042 Ayşe"]
    warm, fresh = IntentMatcher.from_yaml(INTENTS), IntentMatcher.from_yaml(INTENTS)
    for text in reversed(texts):
        warm.rank(text)
    for text in texts:
        fresh._scored.clear()  # computed, not cached
        assert warm.rank(text) == fresh.rank(text), text
    assert warm.rank("sipariş 77") == warm.rank("sipariş 5")


def test_numbers_are_not_fuzzy_matched_nor_kept_in_the_word_cache() -> None:
    matcher = IntentMatcher.from_yaml(INTENTS)
    before = len(matcher._links)
    for number in range(10_000, 10_200):
        assert getattr(matcher.match(f"sipariş {number} nerede"), "name", None) == "order_status"
    # The words repeat and stay cached; two hundred order numbers added nothing.
    assert len(matcher._links) - before <= 3
    assert matcher._link("10077") == {}


# --- evaluation -------------------------------------------------------------------------------


def _eval(intents: Path, cases: Path) -> tuple[float, list[str]]:
    out = io.StringIO()
    accuracy = run_eval(intents, cases, out=out)
    return accuracy, out.getvalue().splitlines()


@pytest.mark.parametrize(("intents", "cases"), [(INTENTS, CASES), (ALT_INTENTS, ALT_CASES)])
def test_eval_accuracy_and_report(intents: Path, cases: Path) -> None:
    accuracy, lines = _eval(intents, cases)
    assert accuracy >= 0.93
    last = LAST_LINE.match(lines[-1])
    assert last, lines[-1]
    k, n = int(last[1]), int(last[2])
    assert n == len(load_cases(cases))
    assert abs(k / n - accuracy) < 1e-9
    assert lines[-1] == f"accuracy: {accuracy:.2f} ({k}/{n})"
    header = lines[0].split()
    assert header == ["intent", "precision", "recall", "support"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if line and line[0] != " "}
    assert "none" in rows
    names = yaml.safe_load(intents.read_text(encoding="utf-8"))["intents"]
    for name in [*names, "none"]:
        precision, recall, support = rows[name]
        assert 0.0 <= float(precision) <= 1.0 and 0.0 <= float(recall) <= 1.0
        assert int(support) > 0


def test_eval_counts(tmp_path: Path) -> None:
    cases = tmp_path / "cases.tsv"
    cases.write_text(
        "text\texpected\n"
        "siparişim nerede\torder_status\n"
        "hava nasıl\tnone\n"
        "teşekkürler\tgoodbye\n"  # wrong on purpose: predicted thanks
        "merhaba\tgreeting\n",
        encoding="utf-8",
    )
    accuracy, lines = _eval(INTENTS, cases)
    assert accuracy == 0.75
    assert lines[-1] == "accuracy: 0.75 (3/4)"
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if line and line[0] != " "}
    assert rows["thanks"] == ["0.00", "0.00", "0"]
    assert rows["goodbye"] == ["0.00", "0.00", "1"]
    assert rows["none"] == ["1.00", "1.00", "1"]


def test_load_cases_rejects_a_file_without_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("siparişim nerede\torder_status\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_cases(bad)
    bad.write_text("text\texpected\nno label here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_cases(bad)


def test_python_m_intents_eval() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.intents_eval", str(INTENTS), str(CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert LAST_LINE.match(proc.stdout.splitlines()[-1])


def test_python_m_intents_eval_bad_path(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.intents_eval", str(tmp_path / "nope.yaml"), str(CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "Traceback" not in proc.stderr
