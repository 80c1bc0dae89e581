"""Score the intent matcher on a labelled TSV file (``text<TAB>expected``, ``none`` = out of scope).

Prints precision and recall per class (``none`` included), then, as the very last line,
``accuracy: 0.NN (k/n)``. Used by ``omnigate intents eval`` and ``python -m bot.intents_eval``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from bot.intents import IntentMatcher

__all__ = ["Case", "load_cases", "main", "run_eval"]

NONE = "none"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    expected: str


def load_cases(path: str | Path) -> list[Case]:
    """Read a cases TSV whose header names the columns ``text`` and ``expected``."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        # QUOTE_NONE: a case text may contain quotes and must be read verbatim.
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if "text" not in header or "expected" not in header:
        raise ValueError(f"{path}: the first line must be the header 'text<TAB>expected'")
    ti, ei = header.index("text"), header.index("expected")
    cases = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not "".join(row).strip():
            continue
        if len(row) <= max(ti, ei) or not row[ei].strip():
            raise ValueError(f"{path}:{lineno}: expected 'text<TAB>expected', got {row!r}")
        expected = row[ei].strip()
        cases.append(Case(row[ti], NONE if expected.lower() == NONE else expected))
    if not cases:
        raise ValueError(f"{path}: no cases")
    return cases


def run_eval(intents_path: str | Path, cases_path: str | Path, out: TextIO = sys.stdout) -> float:
    """Evaluate the matcher of ``intents_path`` on ``cases_path``; return the accuracy."""
    matcher = IntentMatcher.from_yaml(intents_path)
    cases = load_cases(cases_path)
    tp: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    errors: list[tuple[Case, str]] = []
    for case in cases:
        match = matcher.match(case.text)
        got = match.name if match else NONE
        predicted[got] += 1
        expected[case.expected] += 1
        if got == case.expected:
            tp[got] += 1
        else:
            errors.append((case, got))

    classes = [*matcher.intents, *sorted(set(expected) - {*matcher.intents, NONE}), NONE]
    width = max(len(c) for c in [*classes, "intent"])
    out.write(f"{'intent':<{width}}  precision  recall  support\n")
    for name in classes:
        precision = tp[name] / predicted[name] if predicted[name] else 0.0
        recall = tp[name] / expected[name] if expected[name] else 0.0
        out.write(f"{name:<{width}}  {precision:9.2f}  {recall:6.2f}  {expected[name]:7d}\n")
    if errors:
        out.write(f"\nmisses ({len(errors)}):\n")
        for case, got in errors:
            out.write(f"  {case.text!r}: expected {case.expected}, got {got}\n")
    correct = sum(tp.values())
    accuracy = correct / len(cases)
    out.write(f"\naccuracy: {accuracy:.2f} ({correct}/{len(cases)})\n")
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.intents_eval", description="Score the intent matcher on a TSV file."
    )
    parser.add_argument("intents", help="intents YAML ({language, intents: {NAME: {examples}}})")
    parser.add_argument("cases", help="TSV with the header text<TAB>expected (none = no intent)")
    args = parser.parse_args(argv)
    try:
        run_eval(args.intents, args.cases)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
