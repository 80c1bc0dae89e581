"""`python -m bench`: run the benchmark on each backend, print the table, write the JSON."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict
from typing import Any

from sqlalchemy.engine import make_url

from bench import machine, report
from bench.options import Options, parse
from bench.run import run_backend


async def main(options: Options) -> int:
    description = machine.describe()
    print(machine.one_line(description), flush=True)
    print(
        f"load: {options.conversations} concurrent web chat conversations × "
        f"{options.messages} messages, each waiting for the bot's reply; warm-up "
        f"{options.warmup_conversations} × {options.warmup_messages}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for backend in options.backends:
        print(f"running {backend}…", flush=True)
        results.append(await run_backend(backend, options))
    print()
    print(report.table(results))
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": description,
        "options": {k: str(v) if k == "output" else v for k, v in asdict(options).items()}
        | {"pg_url": make_url(options.pg_url).render_as_string(hide_password=True)},
        "results": results,
    }
    report.write_json(options.output, document)
    print(f"\nresults written to {options.output}")
    failed = [r["backend"] for r in results if "skipped" not in r and not r.get("ok")]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
