"""Sending the webhooks: a burst (ingest) and conversations (end to end), each timed.

- `burst`: every connection posts webhooks back to back, each as soon as the previous one was
  acknowledged; nobody waits for replies. That is the ingest rate: verify, dedupe, persist,
  acknowledge. The bot's turns fall behind and catch up afterwards (`await_replies`); the
  reply rate of a burst is what the gateway sustains with a backlog.
- `converse`: each customer sends a message, waits for the reply at the fake provider, then
  sends the next, all customers at once. That is end to end at a given number of concurrent
  conversations, with latencies that are not a queue's.

Nothing is retried: a webhook that is not answered 200 is an error of the run, reported.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.http1 import Connection, ProtocolError
from bench.stats import summarize_ms
from bench.webhook_traffic import Ledger, Webhook

SAMPLE_LIMIT = 10
POLL = 0.02


@dataclass
class Phase:
    webhooks: list[Webhook]
    started: float = 0.0  # first webhook sent
    deadline_hit: bool = False
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < SAMPLE_LIMIT:
            self.samples.append(f"{kind}: {detail[:200]}")

    def summary(self) -> dict[str, Any]:
        sent = [w for w in self.webhooks if w.sent is not None]
        acked = [w for w in sent if w.ok]
        answered = [w for w in acked if w.replies]
        last_ack = max((w.acked for w in acked if w.acked is not None), default=self.started)
        last_reply = max((w.replies[0] for w in answered), default=self.started)
        ack_s, reply_s = last_ack - self.started, last_reply - self.started
        return {
            "planned": len(self.webhooks),
            "sent": len(sent),
            "acked": len(acked),
            "answered": len(answered),
            "ack_elapsed_s": round(ack_s, 3),
            "acks_per_s": round(len(acked) / ack_s, 1) if ack_s > 0 else None,
            "ack": summarize_ms([w.acked - w.sent for w in acked if w.acked and w.sent]),
            "reply_elapsed_s": round(reply_s, 3),
            "messages_per_s": round(len(answered) / reply_s, 1) if reply_s > 0 else None,
            "reply": summarize_ms([w.replies[0] - w.sent for w in answered if w.sent]),
            "client_lost_replies": len(acked) - len(answered),
            "client_duplicate_replies": sum(len(w.replies) - 1 for w in answered),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "error_samples": self.samples,
            "deadline_hit": self.deadline_hit,
        }


async def open_connections(host: str, port: int, count: int, timeout: float) -> list[Connection]:
    """`count` keep-alive connections, connected before any clock starts."""
    connections = [Connection(host, port, timeout) for _ in range(count)]
    await asyncio.gather(*(c.connect() for c in connections))
    return connections


async def _send(connection: Connection, ledger: Ledger, webhook: Webhook, phase: Phase) -> None:
    ledger.expect(webhook)
    webhook.sent = time.perf_counter()
    try:
        response = await connection.request(webhook.request)
    except (OSError, TimeoutError, ProtocolError) as exc:
        webhook.error = type(exc).__name__
        phase.error(f"request_{webhook.error}", f"{webhook.sid}: {exc!r}")
        return
    webhook.acked, webhook.status = response.at, response.status
    if response.status != 200:
        phase.error(f"http_{response.status}", f"{webhook.sid}: {response.body!r}")


async def burst(
    connections: list[Connection], ledger: Ledger, webhooks: list[Webhook], limit: float
) -> Phase:
    """Post the webhooks, each connection one after another; no new one after `limit` seconds
    (`deadline_hit` then says the burst was cut by time rather than count)."""
    phase = Phase(webhooks)
    pending = iter(webhooks)
    phase.started = time.perf_counter()
    stop_at = phase.started + limit

    async def sender(connection: Connection) -> None:
        for webhook in pending:  # shared: each webhook goes out on one connection
            if time.perf_counter() > stop_at:
                phase.deadline_hit = True
                return
            await _send(connection, ledger, webhook, phase)

    await asyncio.gather(*(sender(c) for c in connections))
    return phase


async def converse(
    connections: list[Connection],
    ledger: Ledger,
    customers: list[list[Webhook]],
    *,
    turn_timeout: float,
    deadline: float,
) -> Phase:
    """Each customer sends its messages in turn, the next one once the reply has arrived."""
    phase = Phase([w for messages in customers for w in messages])
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        pool.put_nowait(connection)
    start = asyncio.Event()

    async def customer(messages: list[Webhook]) -> None:
        await start.wait()
        for webhook in messages:
            if time.perf_counter() > stop_at:
                phase.deadline_hit = True
                return
            connection = await pool.get()
            try:
                await _send(connection, ledger, webhook, phase)
            finally:
                pool.put_nowait(connection)
            if not webhook.ok:
                continue
            try:
                async with asyncio.timeout(turn_timeout):
                    await webhook.answered.wait()
            except TimeoutError:
                phase.error("reply_timeout", f"{webhook.phone} {webhook.text} ({webhook.sid})")

    tasks = [asyncio.create_task(customer(messages)) for messages in customers]
    phase.started = time.perf_counter()
    stop_at = phase.started + deadline
    start.set()
    await asyncio.gather(*tasks)
    return phase


async def await_replies(phase: Phase, ledger: Ledger, *, stall: float, deadline: float) -> bool:
    """Until every acknowledged webhook has its reply; gives up when no reply came for `stall`
    seconds or after `deadline`. True when all came."""
    waiting = [w for w in phase.webhooks if w.ok]
    loop_started = time.perf_counter()
    index = 0
    while True:
        while index < len(waiting) and waiting[index].replies:
            index += 1
        if index == len(waiting):
            return True
        now = time.perf_counter()
        last = max(ledger.last_reply or loop_started, loop_started)
        if now - last > stall or now - loop_started > deadline:
            return False
        await asyncio.sleep(POLL)
