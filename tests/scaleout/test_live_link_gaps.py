"""When a worker's Redis pub/sub link breaks, what was published meanwhile is lost (pub/sub
is at most once). The WebSocket clients on that worker are told once the link is back: the
web chat socket sends the transcript again (the widget merges it without repeating
anything), the agent console gets a `resync` frame (it reads its lists and thread again). So
a reply is never silently missing from an open chat.
"""

from __future__ import annotations

import asyncio

from tests.support import API_TOKEN, REDIS_URL, break_pubsub_link, next_frame, start_gateway


async def test_clients_read_again_after_the_live_link_broke(
    sqlite_url: str, redis_prefix: str
) -> None:
    async with start_gateway(sqlite_url, redis_url=REDIS_URL, redis_prefix=redis_prefix) as gw:
        async with (
            gw.http.ws_connect(gw.ws_url) as chat,
            gw.http.ws_connect(gw.base_url + "/console/ws") as console,
        ):
            await console.send_json({"type": "auth", "token": API_TOKEN})
            await next_frame(console, "hello")
            await next_frame(chat, "session")
            assert (await next_frame(chat, "history"))["messages"] == []
            await chat.send_json({"type": "message", "text": "sipariş 9000001", "client_id": "c1"})
            ack = await next_frame(chat, "ack")
            reply = await next_frame(chat, "message")
            assert reply["sender"] == "bot" and "9000001" in reply["text"], reply

            await break_pubsub_link(redis_prefix)

            again = await next_frame(chat, "history")
            assert [m["id"] for m in again["messages"]] == [ack["id"], reply["id"]]
            assert (await next_frame(console, "resync")) == {"type": "resync"}
            # And the rebuilt link carries what follows, once.
            await chat.send_json({"type": "message", "text": "sipariş 9000002", "client_id": "c2"})
            await next_frame(chat, "ack")
            later = await next_frame(chat, "message")
            assert "9000002" in later["text"], later
            await asyncio.sleep(0.5)
            extra = []
            while True:
                try:
                    extra.append(await chat.receive_json(timeout=0.2))
                except TimeoutError:
                    break
            assert [f for f in extra if f["type"] in ("message", "history")] == [], extra
