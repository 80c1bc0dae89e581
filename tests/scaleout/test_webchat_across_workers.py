"""A web chat visitor's socket on one worker hears the bot's replies to a message that another
worker took in (the session's topic lives in Redis pub/sub)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from adapters.fakes import FakeTwilio
from tests.processes import GatewayProcess
from tests.scaleout.cluster import gateway_env
from tests.scaleout.conftest import REDIS_URL


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


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
                session = (await _next(listener, "session"))["session"]
                await _next(listener, "history")
                url = f"{second.ws_url}?session={session}"
                async with http.ws_connect(url) as writer:
                    await _next(writer, "history")
                    await writer.send_json(
                        {"type": "message", "text": "sipariş 9000001", "client_id": "c1"}
                    )
                    ack = await _next(writer, "ack")
                    heard = await _next(listener, "message")  # on the other worker
                    assert heard["sender"] == "bot" and "9000001" in heard["text"], heard
                    assert heard["id"] > ack["id"]
                    assert (await _next(writer, "message"))["id"] == heard["id"]
    finally:
        first.stop()
        second.stop()
