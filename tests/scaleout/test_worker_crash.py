"""A worker dies (SIGKILL) while others run: nothing acknowledged is lost, nothing is answered or
sent twice, and each conversation's replies keep their order.

Why the provider is held while the worker dies: a send whose 201 reached the worker in the
milliseconds before its commit is repeated after the crash (at least once: Twilio's Messages API
has no idempotency key). Holding the provider makes the kill land mid-send every time instead,
which is the case a lease exists for, and keeps the test deterministic.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from adapters.fakes import FakeTwilio, send_twilio_webhook, twilio_inbound_params
from tests.processes import GatewayProcess
from tests.scaleout.cluster import (
    SMS_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    gateway_env,
    stop_supervised,
    wait_workers,
)
from tests.scaleout.traffic import (
    check_exactly_once,
    converse,
    lease_holders,
    make_customers,
    replies_by_number,
    wait_delivered,
)
from tests.support import REDIS_URL


async def _wait_until(predicate: object, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_sigkill_one_of_two_workers_under_load(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url)
    gateway = GatewayProcess(pg_url, tmp_path / "gateway.log", args=["--workers", "2"], **env)
    await gateway.start(timeout=45)
    try:
        workers = await wait_workers(gateway, 2)
        people = make_customers(30, 8)
        load = asyncio.create_task(converse(gateway.base_url, people, gap=0.4))
        await _wait_until(lambda: len(twilio.sent()) >= 10)  # replies are flowing
        twilio.hang_next(1_000_000)  # the provider stops answering...
        await asyncio.sleep(0.5)  # ...sends answered before are committed by now
        holders: set[int] = set()
        for _ in range(100):  # a worker that leased a row and waits on the provider
            holders = await lease_holders(pg_url) & set(workers)
            if holders:
                break
            await asyncio.sleep(0.1)
        assert holders, "no worker was sending"
        victim = min(holders)
        (survivor,) = set(workers) - {victim}
        assert not load.done(), "the load ended before the kill; make it longer"
        os.kill(victim, signal.SIGKILL)
        await asyncio.sleep(0.5)
        twilio.recover()  # hanging sends are answered 504 and retried later
        await load

        restarted = await wait_workers(gateway, 2)
        assert survivor in restarted and victim not in restarted
        total = sum(len(p.orders) for p in people)
        await wait_delivered(twilio, pg_url, total)
        await asyncio.sleep(1.0)  # a repeated send would show up by now
        # A webhook whose worker died before answering was retried: 0 = no answer.
        await check_exactly_once(gateway, pg_url, twilio, people, allowed=frozenset({0, 200}))
        assert gateway.terminate() == 0  # SIGTERM: both workers stop gracefully
        assert "all workers stopped" in gateway.log_path.read_text()
    finally:
        stop_supervised(gateway)


async def test_rows_of_a_worker_that_died_mid_send_go_to_another(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    """Two independent `omnigate serve` processes: A leases a reply and dies while the provider
    holds its request; B sends it once A's lease ran out, then the reply queued behind it."""
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url)
    first = GatewayProcess(pg_url, tmp_path / "a.log", **env)
    second = GatewayProcess(pg_url, tmp_path / "b.log", **env)
    await first.start(timeout=45)
    try:
        twilio.hang_next(1)
        url = first.base_url + "/webhooks/twilio"
        number = "+905559990001"
        for order in ("8000001", "8000002"):
            params = twilio_inbound_params(
                from_=number, to=SMS_FROM, body=f"sipariş {order}", account_sid=TWILIO_SID
            )
            assert (await send_twilio_webhook(url, params, TWILIO_TOKEN)).status == 200
            if order == "8000001":
                await _wait_until(lambda: any(c.status == 0 for c in twilio.calls))
        await second.start(timeout=45)
        first.kill()  # mid-send: its request is still held by the provider
        await _wait_until(lambda: len(twilio.sent()) >= 2, timeout=30)
        await asyncio.sleep(1.0)
        bodies = replies_by_number(twilio)[number]
        assert len(bodies) == 2, bodies
        assert "8000001" in bodies[0] and "8000002" in bodies[1]
        twilio.recover()
    finally:
        first.stop()
        second.stop()
