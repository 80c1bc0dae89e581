"""Command-line options of `python -m bench`."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path

from bench.databases import DEFAULT_PG_URL, DEFAULT_REDIS_URL

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("sqlite", "postgresql")
SCENARIOS = ("webchat", "webhooks")
DEFAULT_OUTPUT = {"webchat": RESULTS / "latest.json", "webhooks": RESULTS / "webhooks.json"}


@dataclass(frozen=True, slots=True)
class Options:
    scenarios: tuple[str, ...]
    backends: tuple[str, ...]
    conversations: int
    messages: int
    warmup_conversations: int
    warmup_messages: int
    turn_timeout: float  # seconds one message may wait for its ack and reply
    deadline: float  # seconds the measured phase may take on one backend
    verify_sample: int  # customers whose stored transcript is checked (0 = all)
    pg_url: str
    output: Path  # the web chat scenario's JSON; see output_for()
    quick: bool
    # Webhooks scenario
    concurrency: int = 64  # connections posting webhooks
    webhooks: int = 20_000  # webhooks of the burst (ingest) phase, at most...
    burst_seconds: float = 20.0  # ...and for at most this long
    workers: int = 2  # gateway workers on PostgreSQL + Redis
    redis_url: str = DEFAULT_REDIS_URL
    repeat: int = 1  # rounds of every configuration, interleaved
    output_given: Path | None = None

    def output_for(self, scenario: str) -> Path:
        """Where a scenario's JSON goes: --output for one scenario, <stem>-<scenario> for all."""
        given = self.output_given
        if given is None:
            return DEFAULT_OUTPUT[scenario]
        if len(self.scenarios) == 1:
            return given
        return given.with_name(f"{given.stem}-{scenario}{given.suffix}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start the real gateway on each backend and drive it: concurrent web chat "
        "conversations (--scenario webchat), or signed Twilio SMS webhooks answered through a "
        "fake Twilio (--scenario webhooks, beside a bare aiohttp ceiling); print rates, "
        "latency, memory, and whether every message was stored and answered exactly once.",
    )
    p.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="webchat")
    p.add_argument(
        "--backend",
        choices=[*BACKENDS, "all"],
        default="all",
        help="sqlite (one worker) and/or postgresql (webhooks: + Redis, --workers workers)",
    )
    p.add_argument("--conversations", type=int, help="concurrent conversations (100; quick 10)")
    p.add_argument("--messages", type=int, help="messages per conversation (20; quick 5)")
    p.add_argument("--warmup", type=int, help="warm-up conversations, not measured (10; quick 2)")
    p.add_argument("--quick", action="store_true", help="small smoke run (< 30 s a scenario)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-message timeout, s (10)")
    p.add_argument("--deadline", type=float, help="measured phase limit per backend, s (300)")
    p.add_argument(
        "--verify-sample", type=int, help="customers whose transcript is checked (25; 0 = all)"
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("OMNIGATE_BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL server to create the throwaway database on "
        "(env OMNIGATE_BENCH_PG_URL; default %(default)s)",
    )
    p.add_argument("--concurrency", type=int, default=64, help="webhooks: connections posting (64)")
    p.add_argument(
        "--webhooks", type=int, help="webhooks: burst size of the ingest phase (20000; quick 600)"
    )
    p.add_argument(
        "--burst-seconds",
        type=float,
        help="webhooks: the burst stops sending after this long (20; quick 5)",
    )
    p.add_argument("--workers", type=int, default=2, help="webhooks: workers on PostgreSQL (2)")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every configuration, interleaved, with medians (1); "
        "a VM's speed drifts between runs, so one round proves little",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("OMNIGATE_BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="webhooks: Redis for the workers, keys under a random prefix deleted after "
        "(env OMNIGATE_BENCH_REDIS_URL; default %(default)s)",
    )
    p.add_argument(
        "--output",
        type=Path,
        help="JSON results (default bench/results/latest.json for webchat, webhooks.json for "
        "webhooks; with --scenario all, <stem>-<scenario>.json)",
    )
    return p


def parse(argv: list[str] | None = None) -> Options:
    p = parser()
    args = p.parse_args(argv)
    quick = bool(args.quick)

    def pick(value: int | float | None, normal: int | float, small: int | float) -> float:
        return float(value) if value is not None else float(small if quick else normal)

    conversations = int(pick(args.conversations, 100, 10))
    messages = int(pick(args.messages, 20, 5))
    if conversations < 1 or messages < 1:
        p.error("--conversations and --messages must be at least 1")
    webhooks = int(pick(args.webhooks, 20_000, 600))
    if webhooks < 1 or args.concurrency < 1 or args.workers < 1 or args.repeat < 1:
        p.error("--webhooks, --concurrency, --workers and --repeat must be at least 1")
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    output_given: Path | None = args.output
    options = Options(
        scenarios=scenarios,
        backends=BACKENDS if args.backend == "all" else (args.backend,),
        conversations=conversations,
        messages=messages,
        warmup_conversations=max(0, int(pick(args.warmup, 10, 2))),
        warmup_messages=min(messages, 3 if quick else 5),
        turn_timeout=args.timeout,
        deadline=pick(args.deadline, 300, 30),
        verify_sample=int(pick(args.verify_sample, 25, 0)),
        pg_url=args.pg_url,
        output=DEFAULT_OUTPUT["webchat"],
        quick=quick,
        concurrency=args.concurrency,
        webhooks=webhooks,
        burst_seconds=pick(args.burst_seconds, 20.0, 5.0),
        workers=args.workers,
        redis_url=args.redis_url,
        repeat=args.repeat,
        output_given=output_given,
    )
    return replace(options, output=options.output_for("webchat"))
