"""Drive many conversations at once: connect them all, start together, time the messages."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.conversation import Conversation
from bench.stats import summarize_ms

CONNECT_CONCURRENCY = 100
MAX_NUMBER = 99_999_999
LATE_FRAME_GRACE = 0.5  # keep sockets open this long after the last reply: late duplicates


@dataclass
class LoadResult:
    conversations: list[Conversation]
    connect_seconds: float = 0.0
    elapsed: float = 0.0  # first send -> last reply of the measured phase
    deadline_hit: bool = False
    errors: Counter[str] = field(default_factory=Counter)

    def completed(self) -> int:
        return sum(1 for c in self.conversations for t in c.turns if t.acks and t.replies)

    def summary(self) -> dict[str, Any]:
        turns = [t for c in self.conversations for t in c.sent_turns]
        acks = [t.acked - t.sent for t in turns if t.acked is not None and t.sent is not None]
        replies = [
            t.replied - t.sent for t in turns if t.replied is not None and t.sent is not None
        ]
        completed = self.completed()
        errors = Counter(self.errors)
        for conversation in self.conversations:
            errors.update(conversation.errors)
        samples = list(dict.fromkeys(s for c in self.conversations for s in c.samples))
        return {
            "conversations": len(self.conversations),
            "messages_planned": sum(len(c.turns) for c in self.conversations),
            "messages_sent": len(turns),
            "messages_completed": completed,
            "elapsed_s": round(self.elapsed, 3),
            "messages_per_s": round(completed / self.elapsed, 1) if self.elapsed else None,
            "connect_s": round(self.connect_seconds, 3),
            "ack": summarize_ms(acks),
            "reply": summarize_ms(replies),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "error_samples": samples[:10],
            "client_lost_acks": sum(1 for t in turns if not t.acks),
            "client_duplicate_acks": sum(max(0, t.acks - 1) for t in turns),
            "client_lost_replies": sum(1 for t in turns if not t.replies and not t.wrong_replies),
            "wrong_replies": sum(t.wrong_replies for t in turns),
            "client_duplicate_replies": sum(max(0, t.replies - 1) for t in turns),
            "deadline_hit": self.deadline_hit,
        }


def plan(count: int, messages: int, base: int) -> list[Conversation]:
    """Conversations whose order numbers are unique across the run (base keeps phases apart).

    Numbers have 8 digits: the default bot takes 10 or more digits typed in web chat for a
    phone number (and offers to verify it), which is not the order question measured here.
    """
    if base + count * messages > MAX_NUMBER:
        raise ValueError(f"{count}×{messages} messages do not fit in 8-digit order numbers")
    return [
        Conversation(c, [str(base + c * messages + i) for i in range(messages)])
        for c in range(count)
    ]


async def drive(
    http: aiohttp.ClientSession,
    ws_url: str,
    conversations: list[Conversation],
    *,
    turn_timeout: float,
    deadline: float,
) -> LoadResult:
    result = LoadResult(conversations)
    slots = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(conversation: Conversation) -> bool:
        async with slots:
            return await conversation.connect(http, ws_url, turn_timeout)

    started = time.perf_counter()
    connected = await asyncio.gather(*(connect(c) for c in conversations))
    result.connect_seconds = time.perf_counter() - started
    live = [c for c, ok in zip(conversations, connected, strict=True) if ok]

    start = asyncio.Event()
    tasks = [asyncio.create_task(c.run(start, turn_timeout)) for c in live]
    first_send = time.perf_counter()
    start.set()
    _done, pending = await asyncio.wait(tasks, timeout=deadline) if tasks else (set(), set())
    if pending:
        result.deadline_hit = True
        result.errors["deadline"] += len(pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    # Late answers to timed-out messages still count (they are slow, not lost): wait for them.
    late = [asyncio.create_task(e.wait()) for c in live for e in c.outstanding()]
    if late:
        await asyncio.wait(late, timeout=turn_timeout)
        for waiter in late:
            waiter.cancel()
    last_reply = max(
        (t.replied for c in live for t in c.turns if t.replied is not None), default=first_send
    )
    result.elapsed = last_reply - first_send
    await asyncio.sleep(LATE_FRAME_GRACE)
    await asyncio.gather(*(c.close() for c in conversations), return_exceptions=True)
    return result
