"""The public web chat WebSocket protocol, against a real gateway on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.support import LiveGateway


async def receive(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The next frame of `kind`, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


async def connect(
    gw: LiveGateway, session: str = ""
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any], dict[str, Any]]:
    url = gw.ws_url + (f"?session={session}" if session else "")
    ws = await gw.http.ws_connect(url)
    hello = await receive(ws, "session")
    history = await receive(ws, "history")
    return ws, hello, history


async def test_chat_answers_and_resumes_with_history(live_gateway_any: LiveGateway) -> None:
    gw = live_gateway_any
    ws, hello, history = await connect(gw)
    assert history["messages"] == []
    await ws.send_json({"type": "message", "text": "siparişim nerede", "client_id": "c1"})
    ack = await receive(ws, "ack")
    assert ack["client_id"] == "c1" and isinstance(ack["id"], int)
    reply = await receive(ws, "message")
    assert reply["sender"] == "bot" and "numara" in reply["text"].lower()
    await ws.send_json({"type": "message", "text": "12345", "client_id": "c2"})
    await receive(ws, "ack")
    answer = await receive(ws, "message")
    assert "12345" in answer["text"]
    await ws.close()

    ws2, hello2, history2 = await connect(gw, hello["session"])
    assert hello2["customer_id"] == hello["customer_id"]
    texts = [m["text"] for m in history2["messages"]]
    assert texts[0] == "siparişim nerede" and texts[2] == "12345"
    assert len(texts) == 4
    await ws2.close()


async def test_resent_client_id_is_acked_again_not_stored_twice(live_gateway: LiveGateway) -> None:
    ws, hello, _ = await connect(live_gateway)
    frame = {"type": "message", "text": "merhaba", "client_id": "same"}
    await ws.send_json(frame)
    first = await receive(ws, "ack")
    await ws.send_json(frame)
    second = await receive(ws, "ack")
    assert first["id"] == second["id"] and second["duplicate"] is True
    await receive(ws, "message")
    transcript = await live_gateway.transcript(hello["customer_id"])
    assert [m["text"] for m in transcript if m["direction"] == "in"] == ["merhaba"]
    # exactly one bot reply to the one stored message
    await asyncio.sleep(0.3)
    transcript = await live_gateway.transcript(hello["customer_id"])
    assert len([m for m in transcript if m["direction"] == "out"]) == 1
    await ws.close()


async def test_bad_frames_get_errors_and_connection_stays(live_gateway: LiveGateway) -> None:
    ws, hello, _ = await connect(live_gateway)
    await ws.send_str("not json")
    assert (await receive(ws, "error"))["code"] == "bad_frame"
    await ws.send_json({"no": "type"})
    assert (await receive(ws, "error"))["code"] == "bad_frame"
    await ws.send_json({"type": "dance"})
    assert (await receive(ws, "error"))["code"] == "unknown_type"
    await ws.send_json({"type": "message", "text": "x" * 5000, "client_id": "big"})
    error = await receive(ws, "error")
    assert error["code"] == "too_large" and error["client_id"] == "big"
    await ws.send_bytes(b"\x00\x01")
    assert (await receive(ws, "error"))["code"] == "bad_frame"
    await ws.send_json({"type": "message", "text": 42})
    assert (await receive(ws, "error"))["code"] == "bad_frame"
    await ws.send_json({"type": "ping"})
    await receive(ws, "pong")
    await ws.send_json({"type": "message", "text": "merhaba", "client_id": "ok"})
    assert (await receive(ws, "ack"))["client_id"] == "ok"
    transcript = await live_gateway.transcript(hello["customer_id"])
    assert [m["text"] for m in transcript if m["direction"] == "in"] == ["merhaba"]
    await ws.close()


async def test_forged_session_starts_fresh(live_gateway: LiveGateway) -> None:
    ws, hello, _ = await connect(live_gateway)
    await ws.close()
    forged = hello["session"][:-4] + "abcd"
    ws2 = await live_gateway.http.ws_connect(live_gateway.ws_url + f"?session={forged}")
    error = await receive(ws2, "error")
    assert error["code"] == "bad_session"
    fresh = await receive(ws2, "session")
    assert fresh["customer_id"] != hello["customer_id"]
    await ws2.close()


async def test_burst_of_50_accepted_and_flood_limited(live_gateway: LiveGateway) -> None:
    ws, _, _ = await connect(live_gateway)
    for i in range(50):
        await ws.send_json({"type": "message", "text": f"mesaj {i}", "client_id": f"b{i}"})
    acks = 0
    async with asyncio.timeout(20):
        while acks < 50:
            frame = await ws.receive_json()
            assert frame["type"] != "error", frame
            acks += frame["type"] == "ack"
    for i in range(50, 120):
        await ws.send_json({"type": "message", "text": f"mesaj {i}", "client_id": f"b{i}"})
    limited = 0
    async with asyncio.timeout(20):
        seen = 0
        while seen < 70:
            frame = await ws.receive_json()
            if frame["type"] in ("ack", "error"):
                seen += 1
                limited += frame["type"] == "error" and frame["code"] == "rate_limited"
    assert limited == 20  # 100 allowed in the window, the 20 beyond refused
    await ws.close()


async def test_fifty_at_once_are_answered_in_order(live_gateway_any: LiveGateway) -> None:
    gw = live_gateway_any
    ws, hello, _ = await connect(gw)
    other, _, _ = await connect(gw)
    for i in range(50):
        await ws.send_json(
            {"type": "message", "text": f"sipariş {10000 + i}", "client_id": f"m{i}"}
        )
    await other.send_json({"type": "message", "text": "merhaba", "client_id": "o1"})
    assert (await receive(other, "message"))["sender"] == "bot"  # not stuck behind the 50

    async def all_answered() -> list[dict[str, Any]] | None:
        messages = await gw.transcript(hello["customer_id"])
        return messages if len([m for m in messages if m["direction"] == "out"]) >= 50 else None

    messages = await gw.wait_for(all_answered, timeout=60)
    inbound = [m for m in messages if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == [f"sipariş {10000 + i}" for i in range(50)]
    # each reply follows its question and quotes its number, in order
    replies = [m for m in messages if m["direction"] == "out"]
    assert len(replies) == 50
    for i, reply in enumerate(replies):
        assert str(10000 + i) in reply["text"], (i, reply["text"])
    ids = [m["id"] for m in messages]
    for i in range(50):
        assert ids.index(inbound[i]["id"]) < ids.index(replies[i]["id"])
    await ws.close()
    await other.close()


async def test_long_order_number_is_not_taken_for_a_phone(live_gateway: LiveGateway) -> None:
    ws, _, _ = await connect(live_gateway)
    await ws.send_json({"type": "message", "text": "sipariş 9000000000", "client_id": "n"})
    reply = await receive(ws, "message")
    assert "9000000000" in reply["text"] and not reply["buttons"], reply
    await ws.close()
