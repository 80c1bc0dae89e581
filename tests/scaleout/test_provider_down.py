"""The provider's API fails (HTTP 500) for a while: two workers' outboxes back off instead of
hammering it, then drain once it is back, each conversation's replies in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.fakes import FakeTwilio
from tests.processes import GatewayProcess
from tests.scaleout.cluster import gateway_env, stop_supervised, wait_workers
from tests.scaleout.traffic import check_exactly_once, converse, make_customers, wait_delivered
from tests.support import REDIS_URL

OUTAGE = 3.0  # seconds the provider answers 500


async def test_outbox_backs_off_and_drains_in_order(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    # Attempts are not the limit here: backoff is (with full jitter, so a row might be unlucky).
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url, OMNIGATE_OUTBOX_MAX_ATTEMPTS="50")
    gateway = GatewayProcess(pg_url, tmp_path / "gateway.log", args=["--workers", "2"], **env)
    try:
        await gateway.start(timeout=45)
        await wait_workers(gateway, 2)
        twilio.fail_next(1_000_000, status=500)
        people = make_customers(8, 3, series=6)
        await converse(gateway.base_url, people, gap=0.05)
        await asyncio.sleep(OUTAGE)
        failed = len(twilio.calls)
        twilio.recover()

        # Only the head of each conversation's queue is tried, and it waits longer each time:
        # a few attempts per conversation, not a tight loop (about 2 expected in 3 s).
        assert 0 < failed <= 8 * len(people), failed
        assert not twilio.sent()
        total = sum(len(p.orders) for p in people)
        await wait_delivered(twilio, pg_url, total, timeout=45)
        await asyncio.sleep(1.0)
        await check_exactly_once(gateway, pg_url, twilio, people)
    finally:
        stop_supervised(gateway)
