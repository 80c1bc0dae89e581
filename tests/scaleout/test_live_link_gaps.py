"""When a worker's Redis pub/sub link breaks, what was published meanwhile is lost (pub/sub
is at most once). The WebSocket clients on that worker are told once the link is back: the
web chat socket sends the transcript again (the widget merges it without repeating
anything), the agent console gets a `resync` frame (it reads its lists and thread again). So
a reply is never silently missing from an open chat.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from redis.asyncio import Redis

from tests.scaleout.conftest import REDIS_URL
from tests.storage.test_coordination_contract import pubsub_client_ids
from tests.support import API_TOKEN, start_gateway


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


async def _break_the_live_link(prefix: str) -> None:
    async with Redis.from_url(REDIS_URL) as admin:
        ids = await pubsub_client_ids(admin, prefix)  # this gateway's only, not other tests'
        assert len(ids) == 1, ids
        await admin.execute_command("CLIENT", "KILL", "ID", ids[0])


async def test_clients_read_again_after_the_live_link_broke(
    sqlite_url: str, redis_prefix: str
) -> None:
    async with start_gateway(sqlite_url, redis_url=REDIS_URL, redis_prefix=redis_prefix) as gw:
        async with (
            gw.http.ws_connect(gw.ws_url) as chat,
            gw.http.ws_connect(gw.base_url + "/console/ws") as console,
        ):
            await console.send_json({"type": "auth", "token": API_TOKEN})
            await _next(console, "hello")
            await _next(chat, "session")
            assert (await _next(chat, "history"))["messages"] == []
            await chat.send_json({"type": "message", "text": "sipariş 9000001", "client_id": "c1"})
            ack = await _next(chat, "ack")
            reply = await _next(chat, "message")
            assert reply["sender"] == "bot" and "9000001" in reply["text"], reply

            await _break_the_live_link(redis_prefix)

            again = await _next(chat, "history")
            assert [m["id"] for m in again["messages"]] == [ack["id"], reply["id"]]
            assert (await _next(console, "resync")) == {"type": "resync"}
            # And the rebuilt link carries what follows, once.
            await chat.send_json({"type": "message", "text": "sipariş 9000002", "client_id": "c2"})
            await _next(chat, "ack")
            later = await _next(chat, "message")
            assert "9000002" in later["text"], later
            await asyncio.sleep(0.5)
            extra = []
            while True:
                try:
                    extra.append(await chat.receive_json(timeout=0.2))
                except TimeoutError:
                    break
            assert [f for f in extra if f["type"] in ("message", "history")] == [], extra
