"""After the run: the stored transcripts (REST API) hold each message once, one reply each."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp

from bench.conversation import NUMBER, Conversation

PAGE = 1000
FETCH_CONCURRENCY = 10


def sample(conversations: list[Conversation], size: int) -> list[Conversation]:
    """`size` conversations spread evenly over the run (0 or more than there are: all)."""
    usable = [c for c in conversations if c.customer_id is not None and c.sent_turns]
    if size <= 0 or size >= len(usable):
        return usable
    step = len(usable) / size
    return [usable[int(i * step)] for i in range(size)]


async def transcript(
    http: aiohttp.ClientSession, base_url: str, token: str, customer_id: int
) -> list[dict[str, Any]]:
    """Every message of the customer, oldest first, page by page."""
    messages: list[dict[str, Any]] = []
    after = 0
    while True:
        async with http.get(
            f"{base_url}/api/v1/customers/{customer_id}/messages",
            params={"after": str(after), "limit": str(PAGE)},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"transcript of {customer_id}: HTTP {resp.status}")
            page = (await resp.json())["messages"]
        messages.extend(page)
        if len(page) < PAGE:
            return messages
        after = int(page[-1]["id"])


def check(conversation: Conversation, messages: list[dict[str, Any]]) -> Counter[str]:
    """Stored-side counts for one conversation; every key must stay 0."""
    counts: Counter[str] = Counter()
    inbound = [m for m in messages if m["direction"] == "in"]
    bot = [m for m in messages if m["direction"] == "out" and m["sender"] == "bot"]
    sent = conversation.sent_turns
    expected_texts = {t.text for t in sent}
    for message in inbound:
        if message["text"] not in expected_texts:
            counts["unexpected_inbound"] += 1
    for turn in sent:
        stored = [m for m in inbound if m["text"] == turn.text]
        replies = [m for m in bot if turn.number in NUMBER.findall(m["text"] or "")]
        counts["lost_inbound"] += not stored
        counts["duplicate_inbound"] += max(0, len(stored) - 1)
        counts["lost_replies"] += not replies
        counts["duplicate_replies"] += max(0, len(replies) - 1)
        if stored and turn.ack_id is not None and stored[0]["id"] != turn.ack_id:
            counts["ack_id_mismatch"] += 1
        if stored and replies and replies[0]["id"] < stored[0]["id"]:
            counts["reply_before_message"] += 1
    return counts


async def verify(
    http: aiohttp.ClientSession,
    base_url: str,
    token: str,
    conversations: list[Conversation],
    size: int,
) -> dict[str, Any]:
    chosen = sample(conversations, size)
    slots = asyncio.Semaphore(FETCH_CONCURRENCY)
    totals: Counter[str] = Counter()

    async def one(conversation: Conversation) -> None:
        assert conversation.customer_id is not None
        async with slots:
            try:
                messages = await transcript(http, base_url, token, conversation.customer_id)
            except (aiohttp.ClientError, RuntimeError, TimeoutError, ValueError, KeyError):
                totals["fetch_failed"] += 1
                return
        totals.update(check(conversation, messages))

    await asyncio.gather(*(one(c) for c in chosen))
    keys = (
        "lost_inbound",
        "duplicate_inbound",
        "lost_replies",
        "duplicate_replies",
        "unexpected_inbound",
        "ack_id_mismatch",
        "reply_before_message",
        "fetch_failed",
    )
    return {"customers_checked": len(chosen)} | {k: totals[k] for k in keys}
