"""PostgreSQL unreachable under load: webhooks are answered 503 (the provider retries), never
200 without the row; /healthz says 503; when the database is back everything catches up.

The worker reaches its throwaway database through a TCP proxy of the test, and the proxy is
cut (connections refused, open sessions reset): no other test's database is touched.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from sqlalchemy.engine import make_url

from adapters.fakes import FakeTwilio, send_twilio_webhook
from tests.processes import GatewayProcess
from tests.scaleout.cluster import TWILIO_TOKEN, gateway_env, health, wait_health
from tests.scaleout.faults import TcpProxy
from tests.scaleout.traffic import check_exactly_once, converse, make_customers, wait_delivered
from tests.support import REDIS_URL

SETTLE = 0.5  # seconds for requests that were in flight at the cut to be answered


async def test_postgres_unreachable_answers_503_and_recovers(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    real = make_url(pg_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    through_proxy = real.set(host="127.0.0.1", port=proxy.port)
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url)
    gateway = GatewayProcess(
        through_proxy.render_as_string(hide_password=False), tmp_path / "gateway.log", **env
    )
    try:
        await gateway.start(timeout=45)
        people = make_customers(15, 6, series=4)
        load = asyncio.create_task(converse(gateway.base_url, people, gap=0.3))
        await asyncio.sleep(0.6)
        await proxy.cut()
        down = time.monotonic()
        await asyncio.sleep(SETTLE)

        assert await health(gateway.base_url) == 503
        probes = make_customers(5, 1, series=5)  # one-shot webhooks: no retry
        async with aiohttp.ClientSession() as http:
            for probe in probes:
                answer = await send_twilio_webhook(
                    gateway.base_url + "/webhooks/twilio",
                    probe.params[0],
                    TWILIO_TOKEN,
                    session=http,
                )
                assert answer.status == 503, answer
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - down)))
        assert not load.done(), "the load ended during the outage; make it longer"
        await proxy.restore()
        up = time.monotonic()
        await load

        during = {
            a.status
            for p in people
            for answers in p.answers
            for a in answers
            if down + SETTLE < a.at < up
        }
        assert during == {503}, during
        await wait_health(gateway.base_url, 200)
        total = sum(len(p.orders) for p in people)
        await wait_delivered(twilio, pg_url, total)
        await asyncio.sleep(1.0)
        # Only what was acknowledged is stored: the probes, answered 503, are not.
        await check_exactly_once(gateway, pg_url, twilio, people, allowed=frozenset({200, 503}))
    finally:
        gateway.stop()
        await proxy.stop()
