"""Redis restarted under load (all its keys gone: turn locks, pacing slots; pub/sub links cut).

Ingest does not need Redis: webhooks keep being stored and acknowledged, or answered 503 so
the provider retries, never 200 without the row. Turns and sends wait for Redis and catch up
by themselves once it is back; the turn guard in the database keeps each message answered
once even when a lost lock lets two workers look at one conversation. A web chat socket opened
before the restart says "unavailable" meanwhile (its rate limit lives in Redis), stays open,
and hears replies live again once its subscription has reconnected.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.fakes import FakeTwilio
from tests.processes import GatewayProcess
from tests.scaleout.cluster import (
    gateway_env,
    health_status,
    stop_supervised,
    wait_health_status,
    wait_workers,
)
from tests.scaleout.faults import REDIS_SERVER, RedisServer
from tests.scaleout.traffic import check_exactly_once, converse, make_customers, wait_delivered
from tests.support import next_frame

pytestmark = pytest.mark.skipif(not REDIS_SERVER, reason="redis-server is not installed")

PUBSUB_BACK = 3.0  # the pub/sub link retries at most every 2 s
CHAT = {"type": "message", "text": "sipariş 9100001", "client_id": "during-outage"}


async def test_redis_restart_under_load(pg_url: str, twilio: FakeTwilio, tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    env = gateway_env(redis.url, "omnigate:", twilio.base_url)
    gateway = GatewayProcess(pg_url, tmp_path / "gateway.log", args=["--workers", "2"], **env)
    http = aiohttp.ClientSession()
    try:
        await gateway.start(timeout=45)
        await wait_workers(gateway, 2)
        chat = await http.ws_connect(gateway.ws_url)
        await next_frame(chat, "history")
        people = make_customers(20, 8, series=2)
        load = asyncio.create_task(converse(gateway.base_url, people, gap=0.5))
        await asyncio.sleep(0.6)
        redis.kill()
        down = time.monotonic()
        await chat.send_json(CHAT)
        assert (await next_frame(chat, "error"))["code"] == "unavailable"
        # Degraded but ready: ingest works, so a load balancer must keep the workers.
        assert await health_status(gateway.base_url) == (200, "degraded")
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - down)))
        assert not load.done(), "the load ended during the outage; make it longer"
        redis.start()  # same port, empty
        up = time.monotonic()
        await load

        during = [
            a.status for p in people for answers in p.answers for a in answers if down < a.at < up
        ]
        assert 200 in during, f"ingest stopped while Redis was down: {during}"
        await wait_health_status(gateway.base_url, (200, "ok"))  # recovered by itself
        await asyncio.sleep(PUBSUB_BACK)
        await chat.send_json(CHAT)  # the same message again, on the same socket
        await next_frame(chat, "ack")
        reply = await next_frame(chat, "message")
        assert reply["sender"] == "bot" and "9100001" in reply["text"], reply
        await chat.close()
        later = make_customers(3, 2, series=3)  # and new conversations go through
        await converse(gateway.base_url, later)
        everyone = people + later
        await wait_delivered(twilio, pg_url, sum(len(p.orders) for p in everyone))
        await asyncio.sleep(1.0)
        await check_exactly_once(gateway, pg_url, twilio, everyone, allowed=frozenset({200, 503}))
    finally:
        await http.close()
        stop_supervised(gateway)
        redis.stop()
