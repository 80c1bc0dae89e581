"""A gateway with Slack on: the channel fakes (the customer writes on Telegram) plus
FakeSlack (agents in a channel), and what the Slack tests keep asking of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from adapters.fakes import FakeSlack, FakeTelegram
from adapters.fakes.slack import DEFAULT_CHANNEL, DEFAULT_TOKEN
from adapters.fakes.slack_events import DEFAULT_SIGNING_SECRET
from adapters.fakes.telegram import TgUser
from tests.channels.stack import Stack, channel_stack, eventually
from tests.support import LiveGateway

CUSTOMER = TgUser()  # Ayşe Yılmaz, on Telegram
AGENT_USER = "U0MEHMET01"  # Mehmet's Slack account
AGENT_EMAIL = "mehmet@example.com"
STRANGER = "U0STRANGE1"  # in the Slack channel, not an agent

Message = dict[str, Any]


@dataclass
class SlackStack:
    stack: Stack
    slack: FakeSlack

    @property
    def gw(self) -> LiveGateway:
        return self.stack.gw

    @property
    def telegram(self) -> FakeTelegram:
        return self.stack.telegram

    @property
    def events_url(self) -> str:
        return self.gw.base_url + "/webhooks/slack/events"

    @property
    def interactivity_url(self) -> str:
        return self.gw.base_url + "/webhooks/slack/interactivity"

    def sent(self) -> list[dict[str, Any]]:
        """What the bot and agents sent the customer on Telegram."""
        return self.telegram.calls_to("sendMessage")

    async def customer_says(self, text: str) -> None:
        await self.telegram.deliver(self.telegram.updates.text(text))

    async def customer_asks_for_a_person(self) -> tuple[int, Message]:
        """The customer writes "canlı destek": the conversation queued, its thread's root."""
        await self.customer_says("canlı destek")
        await eventually(lambda: len(self.slack.roots()) == 1, what="the hand-off thread")
        customer_id = await self.stack.customer_id(f"telegram:{CUSTOMER.id}")
        status, body = await self.gw.api(f"/api/v1/conversations?customer_id={customer_id}")
        assert status == 200, body
        (conversation,) = body["conversations"]
        return int(conversation["id"]), self.slack.roots()[0]

    async def line(self, thread_ts: str, predicate: Callable[[Message], bool]) -> Message:
        """Wait for a message of the bot in the thread that satisfies `predicate`."""
        found: list[Message] = []

        def check() -> bool:
            found[:] = [m for m in self.slack.thread(thread_ts) if m.get("bot_id") and predicate(m)]
            return bool(found)

        await eventually(check, what=f"a line in thread {thread_ts}")
        return found[0]

    async def root_shows(self, ts: str, *action_ids: str) -> Message:
        """Wait until the thread's first message offers exactly these buttons."""

        def check() -> bool:
            return buttons(self.slack.message(ts)) == list(action_ids)

        await eventually(check, what=f"root buttons {action_ids}")
        return self.slack.message(ts)


def buttons(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


def block_text(message: Message) -> str:
    """Every text of a message's blocks, joined (what a person reads)."""
    parts: list[str] = [message.get("text", "")]
    for block in message.get("blocks") or []:
        for item in [
            block.get("text"),
            *(block.get("fields") or []),
            *(block.get("elements") or []),
        ]:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
    return "\n".join(parts)


@contextlib.asynccontextmanager
async def slack_stack(
    database_url: str, *, slack: FakeSlack | None = None, **settings: Any
) -> AsyncIterator[SlackStack]:
    slack = slack or FakeSlack()
    await slack.start()
    values: dict[str, Any] = {
        "slack_bot_token": DEFAULT_TOKEN,
        "slack_signing_secret": DEFAULT_SIGNING_SECRET,
        "slack_channel": DEFAULT_CHANNEL,
        "slack_api_url": slack.api_url,
        **settings,
    }
    try:
        async with channel_stack(database_url, **values) as stack:
            slack.events_url = stack.gw.base_url + "/webhooks/slack/events"
            slack.interactivity_url = stack.gw.base_url + "/webhooks/slack/interactivity"
            yield SlackStack(stack, slack)
            # Echoes of the bot's last posts are answered before the gateway stops.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slack.drain(), 5.0)
    finally:
        await slack.stop()
