"""The gateway under test: real `omnigate serve` processes sharing PostgreSQL and Redis, with
Twilio pointed at a FakeTwilio of the test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal

import aiohttp

from bench.procstat import children
from tests.processes import GatewayProcess

TWILIO_SID = "AC" + "7" * 32
TWILIO_TOKEN = "scaleout-twilio-auth-token"
SMS_FROM = "+15005550006"
READY = re.compile(r"worker (\d+) \(pid (\d+)\) ready")


def gateway_env(redis_url: str, redis_prefix: str, twilio_url: str, **extra: str) -> dict[str, str]:
    env = {
        "OMNIGATE_REDIS_URL": redis_url,
        "OMNIGATE_REDIS_PREFIX": redis_prefix,
        "OMNIGATE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "OMNIGATE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "OMNIGATE_TWILIO_SMS_FROM": SMS_FROM,
        "OMNIGATE_TWILIO_API_URL": twilio_url,
        # A dead worker's conversations and leased sends move on after seconds (60 s by
        # default). A lease must outlast pacing plus one send, or a live worker's send could
        # be taken over and repeated: the pace is raised and the provider timeout shortened.
        "OMNIGATE_TURN_LOCK_TTL": "3",
        "OMNIGATE_OUTBOX_LEASE": "5",
        "OMNIGATE_TWILIO_SEND_RATE": "1000",
        "OMNIGATE_PROVIDER_TIMEOUT": "2",
        "OMNIGATE_SHUTDOWN_GRACE": "5",
    }
    env.update(extra)
    return env


async def wait_workers(gateway: GatewayProcess, count: int, timeout: float = 45.0) -> list[int]:
    """Wait until `count` live workers of the supervisor reported ready; returns their pids."""
    assert gateway.proc is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        log = gateway.log_path.read_text(errors="replace")
        ready = {int(m.group(2)) for m in READY.finditer(log)}
        live = [pid for pid in children(gateway.proc.pid) if pid in ready]
        if len(live) >= count:
            await asyncio.sleep(0.2)  # the port is bound right after the ready line
            return live
        assert loop.time() < deadline, f"{count} workers not ready:\n{log[-3000:]}"
        await asyncio.sleep(0.1)


def stop_supervised(gateway: GatewayProcess) -> None:
    """Teardown: stop the supervisor and any worker it left behind (only ours, by pid)."""
    if gateway.proc is None:
        return
    workers = children(gateway.proc.pid)
    if gateway.proc.poll() is None:
        gateway.proc.send_signal(signal.SIGTERM)
        try:
            gateway.proc.wait(15)
        except Exception:
            gateway.proc.kill()
            gateway.proc.wait(10)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def health(base_url: str) -> int:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(base_url + "/healthz") as resp,
        ):
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def health_status(base_url: str) -> tuple[int, str]:
    """(HTTP status, the body's "status") of /healthz; (0, "") when it does not answer."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(base_url + "/healthz") as resp,
        ):
            return resp.status, str((await resp.json()).get("status", ""))
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return 0, ""


async def wait_health_status(
    base_url: str, expected: tuple[int, str], timeout: float = 20.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (seen := await health_status(base_url)) != expected:
        assert loop.time() < deadline, f"/healthz answered {seen}, not {expected}"
        await asyncio.sleep(0.2)


async def wait_health(base_url: str, status: int, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (seen := await health(base_url)) != status:
        assert loop.time() < deadline, f"/healthz answered {seen}, not {status}"
        await asyncio.sleep(0.2)
