"""`python -m bench`: run the chosen scenarios, print their tables, write their JSON."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import machine, report, webhooks_report
from bench.options import Options, parse
from bench.run import run_backend
from bench.webhook_traffic import GREETING_EVERY
from bench.webhooks_run import configs, run_config


def _options_json(options: Options) -> dict[str, Any]:
    plain = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    return plain | {"pg_url": make_url(options.pg_url).render_as_string(hide_password=True)}


def _round_tag(round_: int, options: Options) -> str:
    return f" (round {round_} of {options.repeat})" if options.repeat > 1 else ""


async def webchat(options: Options) -> list[dict[str, Any]]:
    print(
        f"webchat load: {options.conversations} concurrent web chat conversations × "
        f"{options.messages} messages, each waiting for the bot's reply; warm-up "
        f"{options.warmup_conversations} × {options.warmup_messages}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for round_ in range(1, options.repeat + 1):
        for backend in options.backends:
            print(f"running {backend}{_round_tag(round_, options)}…", flush=True)
            result = await run_backend(backend, options)
            results.append(result | ({"round": round_} if options.repeat > 1 else {}))
    print()
    print(report.table(results))
    return results


async def webhooks(options: Options) -> list[dict[str, Any]]:
    print(
        f"webhooks load: signed Twilio SMS webhooks over {options.concurrency} connections, "
        f"{options.conversations} customers (distinct phones; 1 message in {GREETING_EVERY} "
        f'"merhaba", the others "sipariş <n>"); burst of {options.webhooks} webhooks, then '
        f"{options.conversations} conversations × {options.messages} messages each waiting for "
        "its reply at the fake Twilio (in this process; pacing off, status callbacks off)",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for round_ in range(1, options.repeat + 1):  # rounds interleaved: a drift hits them all
        for config in configs(options):
            name = f"{config.name} ×{config.workers}"
            print(f"running {name}{_round_tag(round_, options)}…", flush=True)
            result = await run_config(config, options)
            results.append(result | ({"round": round_} if options.repeat > 1 else {}))
    print()
    print(webhooks_report.table(results))
    return results


SCENARIOS = {"webchat": webchat, "webhooks": webhooks}


def _failed(scenario: str, results: list[dict[str, Any]]) -> list[str]:
    key = "backend" if scenario == "webchat" else "config"
    return [f"{scenario} {r[key]}" for r in results if "skipped" not in r and not r.get("ok")]


async def main(options: Options) -> int:
    description = machine.describe()
    print(machine.one_line(description), flush=True)
    failed: list[str] = []
    for scenario in options.scenarios:
        results = await SCENARIOS[scenario](options)
        document = {
            "scenario": scenario,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": description,
            "options": _options_json(options),
            "results": results,
        }
        output = options.output_for(scenario)
        report.write_json(output, document)
        print(f"\nresults written to {output}\n", flush=True)
        failed += _failed(scenario, results)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
