"""Text between Slack and customers' channels.

Slack message text is mrkdwn with three characters escaped (`&amp;`, `&lt;`, `&gt;`) and
`<…>` for links and mentions. Customers' text is escaped before it goes into Slack, so a
customer cannot ping `<!channel>` or forge a link; agents' text is turned back into plain
text before it goes to a customer.
"""

from __future__ import annotations

import re

_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_NOTE = re.compile(r"^\s*note\s*:\s*", re.IGNORECASE)


def escape(text: str) -> str:
    """Plain text made safe for a Slack message (no mentions, links or entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _angle(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):  # <@U123> or <@U123|ayse>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|support>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>, <!date^…|fallback>
        if label:
            return label
        return "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if label and label != target:
        return f"{label} ({target})"
    return target


def to_plain(text: str) -> str:
    """An agent's Slack message as plain text for the customer."""
    return _unescape(_ANGLE.sub(_angle, text)).strip()


def split_note(text: str) -> tuple[str, bool]:
    """`note: …` is an internal note: (the note's text, True); anything else (text, False)."""
    match = _NOTE.match(text)
    if match is None:
        return text, False
    return text[match.end() :].strip(), True


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
