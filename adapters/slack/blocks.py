"""Block Kit for a hand-off thread: its first message (customer summary, recent transcript,
state, buttons) and the lines mirrored into it.

Everything a customer wrote is escaped (`text.escape`); limits are Slack's: 3000 characters
in a section's text, 10 fields of 2000, 50 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.slack.text import clip, escape

# action_id of each button -> the hand-off action it performs; the value is the conversation.
ACTIONS = {"omnigate_claim": "claim", "omnigate_release": "release", "omnigate_close": "close"}
_BUTTONS: dict[str, tuple[str, str, str | None]] = {
    # state -> buttons offered, in order: (action, label, style)
    "claim": ("omnigate_claim", "Claim", "primary"),
    "release": ("omnigate_release", "Release to bot", None),
    "close": ("omnigate_close", "Close", "danger"),
}
_OFFERED = {
    "queued": ("claim", "release", "close"),
    "agent": ("release", "close"),
    "bot": ("claim", "close"),
    "closed": (),
}
_SECTION_LIMIT = 3000
_LINE_LIMIT = 400


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    who: str  # "Ayşe Yılmaz", "Bot", "Agent Mehmet"
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """What the thread's first message says about a handed-off conversation."""

    conversation_id: int
    customer_name: str
    identities: tuple[tuple[str, str], ...]  # (channel, external id)
    reason: str  # in words: "the customer asked for a person"
    team: str
    state: str  # bot | queued | agent | closed
    assignee: str = ""
    transcript: tuple[TranscriptLine, ...] = ()
    earlier: int = 0  # messages before the transcript shown
    extra: dict[str, str] = field(default_factory=dict)  # more fields: "CSAT": "5/5"


def state_text(summary: ThreadSummary) -> str:
    return {
        "queued": ":hourglass_flowing_sand: Waiting for an agent",
        "agent": f":headphones: With {escape(summary.assignee or 'an agent')}",
        "bot": ":robot_face: Back with the bot",
        "closed": ":white_check_mark: Closed",
    }.get(summary.state, escape(summary.state))


def fallback_text(summary: ThreadSummary) -> str:
    """The notification text (and what clients without blocks show)."""
    return clip(f"Customer waiting: {escape(summary.customer_name)} — {summary.reason}", 300)


def root_blocks(summary: ThreadSummary) -> list[dict[str, Any]]:
    name = escape(summary.customer_name) or "Customer"
    channels = "\n".join(
        f"`{escape(channel)}` {escape(external)}" for channel, external in summary.identities
    )
    fields = [
        _mrkdwn(f"*Customer*\n{name}"),
        _mrkdwn(f"*State*\n{state_text(summary)}"),
        _mrkdwn(f"*Reason*\n{escape(summary.reason)}"),
        _mrkdwn(f"*Team*\n{escape(summary.team) or 'any'}"),
        _mrkdwn(clip(f"*Channels*\n{channels or '—'}", 2000)),
        *(_mrkdwn(clip(f"*{k}*\n{escape(v)}", 2000)) for k, v in summary.extra.items()),
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": _mrkdwn(
                f":speech_balloon: *{name}* needs a person — conversation #"
                f"{summary.conversation_id}"
            ),
        },
        {"type": "section", "fields": fields[:10]},
        {"type": "section", "text": _mrkdwn(_transcript(summary))},
        {
            "type": "context",
            "elements": [
                _mrkdwn(
                    "Reply in this thread to answer the customer on their channel; "
                    "start with `note:` to keep it internal."
                )
            ],
        },
    ]
    buttons = [_button(kind, summary.conversation_id) for kind in _OFFERED.get(summary.state, ())]
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"omnigate_actions_{summary.conversation_id}",
                "elements": buttons,
            }
        )
    return blocks


def _transcript(summary: ThreadSummary) -> str:
    lines = [
        f"*{escape(line.who)}* _({escape(line.channel)})_: "
        f"{escape(clip(line.text, _LINE_LIMIT)) or '—'}"
        for line in summary.transcript
    ]
    head = "*Recent messages*"
    if summary.earlier:
        head += f" (and {summary.earlier} earlier)"
    text = "\n".join([head, *lines]) if lines else f"{head}\n—"
    while len(text) > _SECTION_LIMIT and len(lines) > 1:
        lines.pop(0)  # keep the newest
        text = "\n".join([head, "…", *lines])
    return clip(text, _SECTION_LIMIT)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(kind: str, conversation_id: int) -> dict[str, Any]:
    action_id, label, style = _BUTTONS[kind]
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": str(conversation_id),
    }
    if style:
        button["style"] = style
    if kind == "close":
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Close the conversation?"},
            "text": _mrkdwn("The customer is asked to rate the conversation."),
            "confirm": {"type": "plain_text", "text": "Close"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button
