"""What Slack sends us, reduced to the two things Omnigate acts on: a person's reply in a
thread (Events API `message`) and a press of one of our buttons (`block_actions`).

Everything else is dropped here: top-level channel messages, edits, deletions, joins, and
every bot's post, ours included (`bot_id`, `subtype: bot_message`, our own user id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import ACTIONS
from adapters.slack.text import to_plain

# Message subtypes a person's reply may carry (a reply also sent to the channel; a file).
_PERSON_SUBTYPES = (None, "thread_broadcast", "file_share")


@dataclass(frozen=True, slots=True)
class ThreadReply:
    event_id: str
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str  # plain text (mentions and links resolved, entities unescaped)
    retry_num: int = 0


@dataclass(frozen=True, slots=True)
class ButtonPress:
    action: str  # claim | release | close
    conversation_id: int
    user: str
    channel: str
    message_ts: str


def thread_reply(
    body: dict[str, Any], bot_user_id: str = "", retry_num: int = 0
) -> ThreadReply | None:
    """The person's reply in a thread this Events API callback carries, if it is one."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != "message" or event.get("subtype") not in _PERSON_SUBTYPES:
        return None
    if event.get("bot_id") or event.get("bot_profile"):
        return None
    user = str(event.get("user") or "")
    if not user or user == bot_user_id:
        return None
    ts, thread_ts = str(event.get("ts") or ""), str(event.get("thread_ts") or "")
    if not thread_ts or thread_ts == ts:  # a message in the channel, not a reply
        return None
    channel = str(event.get("channel") or "")
    return ThreadReply(
        event_id=str(body.get("event_id") or f"{channel}:{ts}"),
        channel=channel,
        thread_ts=thread_ts,
        ts=ts,
        user=user,
        text=to_plain(str(event.get("text") or "")),
        retry_num=retry_num,
    )


def button_press(body: dict[str, Any]) -> ButtonPress | None:
    """The first of our buttons a `block_actions` payload says was pressed, if any."""
    if body.get("type") != "block_actions":
        return None
    user = str((body.get("user") or {}).get("id") or "")
    channel = str((body.get("channel") or {}).get("id") or "")
    container = body.get("container") or {}
    message = body.get("message") or {}
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    for action in body.get("actions") or []:
        kind = ACTIONS.get(str(action.get("action_id") or ""))
        value = str(action.get("value") or "")
        if kind and value.isdigit() and user:
            return ButtonPress(kind, int(value), user, channel, message_ts)
    return None
