"""A web chat visitor's socket on one worker hears the bot's replies to a message that another
worker took in (the session's topic lives in Redis pub/sub)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from adapters.fakes import FakeTwilio
from tests.processes import GatewayProcess
from tests.scaleout.cluster import gateway_env
from tests.support import REDIS_URL, next_frame


async def test_reply_reaches_a_socket_on_another_worker(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url)
    first = GatewayProcess(pg_url, tmp_path / "a.log", **env)
    second = GatewayProcess(pg_url, tmp_path / "b.log", **env)
    try:
        await asyncio.gather(first.start(timeout=45), second.start(timeout=45))
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(first.ws_url) as listener:
                session = (await next_frame(listener, "session"))["session"]
                await next_frame(listener, "history")
                url = f"{second.ws_url}?session={session}"
                async with http.ws_connect(url) as writer:
                    await next_frame(writer, "history")
                    await writer.send_json(
                        {"type": "message", "text": "sipariş 9000001", "client_id": "c1"}
                    )
                    ack = await next_frame(writer, "ack")
                    heard = await next_frame(listener, "message")  # on the other worker
                    assert heard["sender"] == "bot" and "9000001" in heard["text"], heard
                    assert heard["id"] > ack["id"]
                    assert (await next_frame(writer, "message"))["id"] == heard["id"]
    finally:
        first.stop()
        second.stop()
