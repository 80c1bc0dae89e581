"""One backend, start to finish: database, gateway process, warm-up, load, checks, shutdown."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench import procstat
from bench.databases import Database, Unreachable, postgres_database, sqlite_database
from bench.load import drive, plan
from bench.machine import load_average
from bench.options import Options
from bench.server import Gateway, ServerFailed, error_lines, log_tail, start_gateway
from bench.verify import verify

STARTUP_TIMEOUT = 60.0
MEASURED_BASE = 10_000_000  # order numbers of the measured run (8 digits, see load.plan)
WARMUP_BASE = 90_000_000


@asynccontextmanager
async def database(backend: str, options: Options, scratch: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        async with sqlite_database(scratch) as db:
            yield db
    else:
        async with postgres_database(options.pg_url) as db:
            yield db


def _memory(pid: int) -> dict[str, float | None]:
    mem = procstat.memory(pid)
    return {
        "rss_mb": round(mem.rss_mb, 1) if mem else None,
        "peak_mb": round(mem.peak_mb, 1) if mem else None,
    }


async def measure(backend: str, db: Database, options: Options) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    log_path = options.output.parent / f"server-{backend}.log"
    gateway: Gateway = await start_gateway(db.url, log_path, token)
    result: dict[str, Any] = {"backend": backend, "database": db.version}
    connector = aiohttp.TCPConnector(limit=0)  # one socket per conversation, no pool cap
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            startup = await gateway.wait_healthy(http, STARTUP_TIMEOUT)
            idle = _memory(gateway.pid)
            warm = await drive(
                http,
                gateway.ws_url,
                plan(options.warmup_conversations, options.warmup_messages, WARMUP_BASE),
                turn_timeout=options.turn_timeout,
                deadline=options.deadline,
            )
            load_before = load_average()
            server_cpu0, client_cpu0 = procstat.cpu_seconds(gateway.pid), time.process_time()
            load = await drive(
                http,
                gateway.ws_url,
                plan(options.conversations, options.messages, MEASURED_BASE),
                turn_timeout=options.turn_timeout,
                deadline=options.deadline,
            )
            server_cpu1, client_cpu1 = procstat.cpu_seconds(gateway.pid), time.process_time()
            end = _memory(gateway.pid)
            load_after = load_average()
            stored = await verify(
                http, gateway.base_url, token, load.conversations, options.verify_sample
            )
    finally:
        exit_code = await gateway.stop()
    summary = load.summary()
    elapsed = summary["elapsed_s"] or None
    server_cpu = (
        server_cpu1 - server_cpu0 if server_cpu0 is not None and server_cpu1 is not None else None
    )
    result |= {
        "startup_s": round(startup, 2),
        "load_average": {"before": load_before, "after": load_after},
        "load": summary,
        "warmup": warm.summary(),
        "stored": stored,
        "memory": {"idle_mb": idle["rss_mb"], "peak_mb": end["peak_mb"], "end_mb": end["rss_mb"]},
        "cpu": {
            "server_s": round(server_cpu, 2) if server_cpu is not None else None,
            "server_cores": round(server_cpu / elapsed, 2) if server_cpu and elapsed else None,
            "client_s": round(client_cpu1 - client_cpu0, 2),
            "client_cores": round((client_cpu1 - client_cpu0) / elapsed, 2) if elapsed else None,
        },
        "server": server_report(log_path, exit_code),
    }
    return result | correctness(result)


def server_report(log_path: Path, exit_code: int | None) -> dict[str, Any]:
    errors = error_lines(log_path)
    return {
        "exit_code": exit_code,
        "log": str(log_path),
        "error_lines": len(errors),
        "error_samples": errors[:10],
        "log_tail": log_tail(log_path, 30) if errors or exit_code else "",
    }


def correctness(result: dict[str, Any]) -> dict[str, Any]:
    load, warm, stored = result["load"], result["warmup"], result["stored"]
    lost = sum(s["client_lost_acks"] + s["client_lost_replies"] for s in (load, warm)) + (
        stored["lost_inbound"] + stored["lost_replies"]
    )
    duplicated = sum(
        s["client_duplicate_acks"] + s["client_duplicate_replies"] for s in (load, warm)
    ) + (stored["duplicate_inbound"] + stored["duplicate_replies"])
    problems = []
    if load["errors"] or warm["errors"]:
        problems.append(f"{load['errors'] + warm['errors']} client-side errors")
    if lost or duplicated:
        problems.append(f"{lost} lost, {duplicated} duplicated")
    for key in ("unexpected_inbound", "ack_id_mismatch", "reply_before_message", "fetch_failed"):
        if stored[key]:
            problems.append(f"transcripts: {stored[key]} {key}")
    if result["server"]["exit_code"] != 0:
        problems.append(f"server exit code {result['server']['exit_code']}")
    if result["server"]["error_lines"]:
        problems.append(f"{result['server']['error_lines']} error lines in the server log")
    return {"lost": lost, "duplicated": duplicated, "problems": problems, "ok": not problems}


async def run_backend(backend: str, options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="omnigate-bench-") as scratch:
        try:
            async with database(backend, options, Path(scratch)) as db:
                return await measure(backend, db, options)
        except Unreachable as exc:
            return {"backend": backend, "skipped": f"database unreachable ({exc})"}
        except ServerFailed as exc:
            return {"backend": backend, "ok": False, "problems": [str(exc)]}
