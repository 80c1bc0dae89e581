"""The webhooks scenario, one configuration start to finish.

A gateway configuration: FakeTwilio in this process on loopback (status callbacks off, so the
load stays on the path measured), a throwaway database (and a Redis prefix for several
workers), the real gateway as a subprocess with Twilio pointed at the fake and pacing off;
then warm-up, the burst (ingest, then the backlog drains), the conversations (end to end),
and the checks once the gateway has stopped. A ceiling configuration: the bare aiohttp
handler (bench/bare_server.py) on as many processes, the same burst, nothing else.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.bare_server import start_bare
from bench.databases import Unreachable, redis_prefix
from bench.options import Options
from bench.run import STARTUP_TIMEOUT, database, server_report
from bench.server import Gateway, ServerFailed, log_findings, start_gateway
from bench.webhook_load import open_connections
from bench.webhook_phases import (
    burst_plan,
    conversations_plan,
    host_port,
    memory,
    memory_report,
    timed_burst,
    timed_conversations,
    warmup_plan,
)
from bench.webhook_traffic import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SMS_FROM,
    Ledger,
    RecordingTwilio,
    Webhook,
    interleave,
    sign_all,
)
from bench.webhook_verify import correctness, verify

LATE_REPLY_GRACE = 0.5  # seconds to wait for replies sent twice, after the last one


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    backend: str | None  # sqlite | postgresql; None: the bare aiohttp ceiling
    workers: int


def configs(options: Options) -> list[Config]:
    """Each gateway configuration after the ceiling with as many processes."""
    runs: list[Config] = []
    if "sqlite" in options.backends:
        runs += [Config("ceiling", None, 1), Config("sqlite", "sqlite", 1)]
    if "postgresql" in options.backends:
        runs += [Config("ceiling", None, options.workers)]
        runs += [Config("postgresql+redis", "postgresql", options.workers)]
    return runs


def _gateway_env(fake_url: str, prefix: str | None, options: Options) -> dict[str, str]:
    env = {
        "OMNIGATE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "OMNIGATE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "OMNIGATE_TWILIO_SMS_FROM": SMS_FROM,
        "OMNIGATE_TWILIO_API_URL": fake_url,
        "OMNIGATE_TWILIO_SEND_RATE": "0",  # pacing off: Twilio queues what it is given
    }
    if prefix is not None:
        env |= {"OMNIGATE_REDIS_URL": options.redis_url, "OMNIGATE_REDIS_PREFIX": prefix}
    return env


@asynccontextmanager
async def _fake_provider(ledger: Ledger) -> AsyncIterator[RecordingTwilio]:
    fake = RecordingTwilio(ledger)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def _drive_gateway(
    gateway: Gateway, ledger: Ledger, options: Options, result: dict[str, Any]
) -> list[Webhook]:
    """Warm-up, burst, conversations; fills `result`, returns every webhook sent."""
    async with aiohttp.ClientSession() as http:
        result["startup_s"] = round(await gateway.wait_healthy(http, STARTUP_TIMEOUT), 2)
    pids = await gateway.wait_workers(STARTUP_TIMEOUT)
    result["pids"] = pids
    idle = memory(pids)
    host, port = host_port(gateway.base_url)
    warm, bursting, talking = warmup_plan(options), burst_plan(options), conversations_plan(options)
    everything = [w for group in (warm, bursting, talking) for messages in group for w in messages]
    sign_all(everything, host, port)
    connections = await open_connections(host, port, options.concurrency, options.turn_timeout)
    try:
        warm_phase, warm_figures = await timed_burst(
            connections, ledger, interleave(warm), pids, options, drain=True
        )
        ledger.forget_greetings()
        burst_phase, burst_figures = await timed_burst(
            connections, ledger, interleave(bursting), pids, options, drain=True
        )
        ledger.forget_greetings()
        talk_phase, talk_figures = await timed_conversations(
            connections, ledger, talking, pids, options
        )
    finally:
        for connection in connections:
            connection.close()
    end = memory(pids)
    await asyncio.sleep(LATE_REPLY_GRACE)
    result |= {
        "warmup": warm_phase.summary() | warm_figures,
        "burst": burst_phase.summary() | burst_figures,
        "conversations": talk_phase.summary() | talk_figures,
        "memory": memory_report(idle, end),
        "pids_after": gateway.worker_pids(),
    }
    if gateway.workers > 1:
        result["supervisor_memory"] = memory([gateway.pid])[0]
    return everything


async def run_gateway(config: Config, options: Options) -> dict[str, Any]:
    assert config.backend is not None
    result: dict[str, Any] = {
        "config": config.name,
        "kind": "gateway",
        "workers": config.workers,
        "connections": options.concurrency,
        "conversations_count": options.conversations,
        "messages": options.messages,
    }
    ledger = Ledger()
    log_path = options.output_for("webhooks").parent / f"server-webhooks-{config.backend}.log"
    with tempfile.TemporaryDirectory(prefix="omnigate-bench-") as scratch:
        try:
            async with AsyncExitStack() as stack:
                db = await stack.enter_async_context(
                    database(config.backend, options, Path(scratch))
                )
                prefix = None
                if config.workers > 1:
                    prefix = await stack.enter_async_context(redis_prefix(options.redis_url))
                fake = await stack.enter_async_context(_fake_provider(ledger))
                result["database"] = db.version + (" + Redis" if prefix else "")
                gateway = await start_gateway(
                    db.url,
                    log_path,
                    secrets.token_urlsafe(24),
                    _gateway_env(fake.base_url, prefix, options),
                    workers=config.workers,
                )
                try:
                    webhooks = await _drive_gateway(gateway, ledger, options, result)
                finally:
                    exit_code = await gateway.stop()
                result["server"] = server_report(log_path, exit_code) | {
                    "findings": log_findings(log_path)
                }
                result["provider_calls"] = len(fake.calls)
                result["stored"] = await verify(db.url, webhooks, ledger)
                result["provider_samples"] = ledger.samples
        except Unreachable as exc:
            return {"config": config.name, "workers": config.workers, "skipped": str(exc)}
        except ServerFailed as exc:
            return result | {"ok": False, "problems": [str(exc)]}
    return result | correctness(result)


async def run_ceiling(config: Config, options: Options) -> dict[str, Any]:
    log_path = options.output_for("webhooks").parent / f"server-webhooks-bare-{config.workers}.log"
    server = await start_bare(config.workers, AUTH_TOKEN, log_path)
    result: dict[str, Any] = {"config": config.name, "kind": "ceiling", "workers": config.workers}
    try:
        await server.wait_ready()
        pids = server.pids
        idle = memory(pids)
        host, port = host_port(server.base_url)
        warm = interleave(warmup_plan(options))
        webhooks = interleave(burst_plan(options))
        sign_all(warm + webhooks, host, port)
        connections = await open_connections(host, port, options.concurrency, options.turn_timeout)
        ledger = Ledger()
        try:
            await timed_burst(connections, ledger, warm, pids, options, drain=False)
            phase, figures = await timed_burst(
                connections, ledger, webhooks, pids, options, drain=False
            )
        finally:
            for connection in connections:
                connection.close()
        end = memory(pids)
    finally:
        codes = await server.stop()
    summary = phase.summary()
    problems = (
        [f"{summary['errors']} errors: {summary['error_kinds']}"] if summary["errors"] else []
    )
    return result | {
        "burst": summary | figures,
        "memory": memory_report(idle, end),
        "exit_codes": codes,
        "problems": problems,
        "ok": not problems,
    }


async def run_config(config: Config, options: Options) -> dict[str, Any]:
    if config.backend is None:
        return await run_ceiling(config, options)
    return await run_gateway(config, options)
