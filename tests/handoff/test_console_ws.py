"""The console's live updates: GET /console/ws?token=… forwards the EventBus `console` topic."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.handoff.helpers import Agent, Customer, create_agent
from tests.support import LiveGateway, start_gateway


async def console(gw: LiveGateway, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await gw.http.ws_connect(gw.base_url.replace("http", "ws") + f"/console/ws?token={token}")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return ws


async def next_event(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0, **match: Any
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            event = await ws.receive_json()
            if all(event.get(k) == v for k, v in match.items()):
                return event


async def test_console_hears_customers_and_hand_offs(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    ayse: Agent = await create_agent(gw, "Ayşe")
    ws = await console(gw, ayse.token)
    async with Customer(gw) as customer:
        message_id = await customer.say("canlı destek")
        event = await next_event(ws, type="message", message_id=message_id)
        cid = event["conversation_id"]
        assert cid is not None
        queued = await next_event(ws, type="conversation", conversation_id=cid, event="queued")
        assert queued["state"] == "queued" and queued["reason"] == "customer_request"

        await ayse.act(cid, "claim")
        assigned = await next_event(ws, type="conversation", event="assigned")
        assert (assigned["state"], assigned["assignee_id"]) == ("agent", ayse.id)

        # The customer writes while Ayşe owns the conversation: she hears it live.
        written = await customer.say("kargom gelmedi")
        event = await next_event(ws, type="message", message_id=written)
        assert event["conversation_id"] == cid

        await ayse.write(cid, "Hemen bakıyorum.")
        reply = await next_event(ws, type="message", sender="agent")
        assert reply["conversation_id"] == cid and reply["note"] is False
        # Delivery status notices name the conversation too.
        await next_event(ws, type="message", message_id=reply["message_id"])
    await ws.send_json({"type": "ping"})
    await next_event(ws, type="pong")
    await ws.close()


async def test_console_needs_a_token(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    url = gw.base_url + "/console/ws"
    async with gw.http.get(url + "?token=oga_wrong") as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
    # Without a token in the URL, the first frame must authenticate.
    ws = await gw.http.ws_connect(url)
    await ws.send_json({"type": "auth", "token": "oga_wrong"})
    closed = await ws.receive(timeout=5)
    assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401

    ayse = await create_agent(gw, "Ayşe")
    ws = await gw.http.ws_connect(url)
    await ws.send_json({"type": "auth", "token": ayse.token})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["agent"]["name"] == "Ayşe"
    await ws.close()


async def test_console_on_one_worker_hears_another(
    sqlite_url: str, redis_settings: dict[str, str]
) -> None:
    """Two gateways on one database and one Redis: the customer writes to one, the agent's
    console is connected to the other."""
    async with start_gateway(sqlite_url, **redis_settings) as one:
        async with start_gateway(sqlite_url, **redis_settings) as two:
            ayse = await create_agent(one, "Ayşe")
            ws = await console(two, ayse.token)
            async with Customer(one) as customer:
                message_id = await customer.say("merhaba")
                event = await next_event(ws, type="message", message_id=message_id)
                assert event["conversation_id"] is not None
            await ws.close()


@pytest.mark.parametrize("path", ["/api/v1/canned"])
async def test_canned_responses(live_gateway: LiveGateway, path: str) -> None:
    ayse = await create_agent(live_gateway, "Ayşe")
    status, body = await ayse.call(path)
    assert status == 200
    canned = {item["shortcut"]: item["text"] for item in body["canned"]}
    assert canned["merhaba"].startswith("Merhaba") and canned["hello"].startswith("Hello")
