"""Slack for agents: hand-off threads in a channel, replies and buttons back (slack-bolt).

The SDKs stay in here; the core (bot/slack_*.py) decides what to post and what a reply
does, through `SlackApi` (Web API calls) and `SlackReceiver` (the webhooks).
"""

from adapters.slack.api import BotIdentity, SlackApi, SlackError
from adapters.slack.blocks import ThreadSummary, TranscriptLine, fallback_text, root_blocks
from adapters.slack.inbound import ButtonPress, ThreadReply
from adapters.slack.receiver import SlackReceiver
from adapters.slack.text import escape, split_note

__all__ = [
    "BotIdentity",
    "ButtonPress",
    "SlackApi",
    "SlackError",
    "SlackReceiver",
    "ThreadReply",
    "ThreadSummary",
    "TranscriptLine",
    "escape",
    "fallback_text",
    "root_blocks",
    "split_note",
]
