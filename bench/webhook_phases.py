"""The measured phases of the webhooks scenario, each with the machine's load average and the
CPU use of the server processes and of the bench around it; and resident memory per process."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from bench import procstat
from bench.http1 import Connection
from bench.machine import load_average
from bench.options import Options
from bench.webhook_load import Phase, await_replies, burst, converse
from bench.webhook_traffic import Ledger, Webhook, interleave, plan

BURST_BASE = 10_000_000  # order numbers of the burst (8 digits)
CONVERSE_BASE = 50_000_000
WARMUP_BASE = 90_000_000
WARMUP_PER_CUSTOMER = 20
WARMUP_PHONES = 9_000_000  # warm-up customers are not the measured ones


def memory(pids: list[int]) -> list[dict[str, Any]]:
    found = []
    for pid in pids:
        mem = procstat.memory(pid)
        found.append(
            {
                "pid": pid,
                "rss_mb": round(mem.rss_mb, 1) if mem else None,
                "peak_mb": round(mem.peak_mb, 1) if mem else None,
            }
        )
    return found


def memory_report(idle: list[dict[str, Any]], end: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"pid": i["pid"], "idle_mb": i["rss_mb"], "peak_mb": e["peak_mb"], "end_mb": e["rss_mb"]}
        for i, e in zip(idle, end, strict=True)
    ]


def host_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def warmup_plan(options: Options) -> list[list[Webhook]]:
    return plan(options.warmup_conversations, WARMUP_PER_CUSTOMER, WARMUP_BASE, WARMUP_PHONES)


def burst_plan(options: Options) -> list[list[Webhook]]:
    per_customer = math.ceil(options.webhooks / options.conversations)
    customers = plan(options.conversations, per_customer, BURST_BASE)
    keep = {id(w) for w in interleave(customers)[: options.webhooks]}
    return [[w for w in messages if id(w) in keep] for messages in customers]


def conversations_plan(options: Options) -> list[list[Webhook]]:
    return plan(options.conversations, options.messages, CONVERSE_BASE)


async def timed_burst(
    connections: list[Connection],
    ledger: Ledger,
    webhooks: list[Webhook],
    pids: list[int],
    options: Options,
    *,
    drain: bool,
) -> tuple[Phase, dict[str, Any]]:
    """A burst with the load average and CPU use around it (and around the drain)."""
    figures: dict[str, Any] = {"load_average": {"before": load_average()}}
    start = procstat.snapshot(pids)
    phase = await burst(connections, ledger, webhooks, options.burst_seconds)
    acked = procstat.snapshot(pids)
    figures["cpu_ingest"] = procstat.usage(start, acked)
    if drain:
        figures["drained"] = await await_replies(
            phase, ledger, stall=options.turn_timeout, deadline=options.deadline
        )
        figures["cpu_drain"] = procstat.usage(acked, procstat.snapshot(pids))
    figures["load_average"]["after"] = load_average()
    return phase, figures


async def timed_conversations(
    connections: list[Connection],
    ledger: Ledger,
    customers: list[list[Webhook]],
    pids: list[int],
    options: Options,
) -> tuple[Phase, dict[str, Any]]:
    figures: dict[str, Any] = {"load_average": {"before": load_average()}}
    start = procstat.snapshot(pids)
    phase = await converse(
        connections,
        ledger,
        customers,
        turn_timeout=options.turn_timeout,
        deadline=options.deadline,
    )
    figures["drained"] = await await_replies(
        phase, ledger, stall=options.turn_timeout, deadline=options.turn_timeout
    )
    figures["cpu"] = procstat.usage(start, procstat.snapshot(pids))
    figures["load_average"]["after"] = load_average()
    return phase, figures
