"""Canned responses for agents: `shortcut: text` pairs from a YAML file; the console expands
`/shortcut` in the reply box."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CANNED_FILE = Path(__file__).resolve().parent.parent / "handlers" / "data" / "canned.yaml"
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def load_canned(path: Path = CANNED_FILE) -> list[dict[str, str]]:
    """[{"shortcut", "text"}] sorted by shortcut; a bad file is an error at startup."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of shortcut: text")
    canned = []
    for shortcut, text in data.items():
        if not isinstance(shortcut, str) or not _SHORTCUT.match(shortcut):
            raise ValueError(f"{path}: bad shortcut {shortcut!r} (a-z, 0-9, _ or -)")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}: shortcut {shortcut!r} needs a text")
        canned.append({"shortcut": shortcut, "text": text.strip()})
    return sorted(canned, key=lambda item: item["shortcut"])
