"""Command-line options of `python -m bench`."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from bench.databases import DEFAULT_PG_URL

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True)
class Options:
    backends: tuple[str, ...]
    conversations: int
    messages: int
    warmup_conversations: int
    warmup_messages: int
    turn_timeout: float  # seconds one message may wait for its ack and reply
    deadline: float  # seconds the measured phase may take on one backend
    verify_sample: int  # customers whose stored transcript is checked (0 = all)
    pg_url: str
    output: Path
    quick: bool


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start the real gateway on each backend and drive concurrent web chat "
        "conversations through it; print messages/s, ack and reply latency, memory, and "
        "whether every message was stored and answered exactly once.",
    )
    p.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    p.add_argument("--conversations", type=int, help="concurrent conversations (100; quick 10)")
    p.add_argument("--messages", type=int, help="messages per conversation (20; quick 5)")
    p.add_argument("--warmup", type=int, help="warm-up conversations, not measured (10; quick 2)")
    p.add_argument("--quick", action="store_true", help="small smoke run (well under 20 s)")
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
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="JSON results")
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
    return Options(
        backends=BACKENDS if args.backend == "all" else (args.backend,),
        conversations=conversations,
        messages=messages,
        warmup_conversations=max(0, int(pick(args.warmup, 10, 2))),
        warmup_messages=min(messages, 3 if quick else 5),
        turn_timeout=args.timeout,
        deadline=pick(args.deadline, 300, 30),
        verify_sample=int(pick(args.verify_sample, 25, 0)),
        pg_url=args.pg_url,
        output=args.output,
        quick=quick,
    )
