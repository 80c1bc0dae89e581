"""REST API, health, metrics and webhook routing against a real gateway."""

from __future__ import annotations

import aiohttp

from tests.support import LiveGateway
from tests.test_webchat_protocol import connect, receive


async def test_api_requires_the_bearer_token(live_gateway: LiveGateway) -> None:
    url = live_gateway.base_url + "/api/v1/customers/1"
    async with live_gateway.http.get(url) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "unauthorized"
    async with live_gateway.http.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
        assert resp.status == 401


async def test_customer_lookup_by_identity_and_transcript(live_gateway: LiveGateway) -> None:
    ws, hello, _ = await connect(live_gateway)
    await ws.send_json({"type": "message", "text": "merhaba", "client_id": "a"})
    await receive(ws, "message")
    await ws.close()
    customer_id = hello["customer_id"]

    status, customer = await live_gateway.api(f"/api/v1/customers/{customer_id}")
    assert status == 200 and customer["id"] == customer_id
    (identity,) = customer["identities"]
    assert identity["channel"] == "webchat" and identity["linked_by"] == "first_contact"

    status, found = await live_gateway.api(
        f"/api/v1/customers?identity=webchat:{identity['external_id']}"
    )
    assert status == 200 and found["id"] == customer_id

    status, body = await live_gateway.api(f"/api/v1/customers/{customer_id}/messages")
    assert status == 200
    first, reply = body["messages"]
    assert (first["direction"], first["sender"], first["text"]) == ("in", "customer", "merhaba")
    assert (reply["direction"], reply["sender"], reply["channel"]) == ("out", "bot", "webchat")
    assert reply["delivery_status"] in ("sent", "delivered")
    for key in ("id", "conversation_id", "created_at"):
        assert key in first


async def test_api_errors_are_clear(live_gateway: LiveGateway) -> None:
    assert (await live_gateway.api("/api/v1/customers?identity=fax:123"))[0] == 400
    assert (await live_gateway.api("/api/v1/customers?identity=sms:+905550000000"))[0] == 404
    assert (await live_gateway.api("/api/v1/customers/999999"))[0] == 404
    assert (await live_gateway.api("/api/v1/customers/abc/messages"))[0] == 404


async def test_openapi_document_lists_the_paths(live_gateway: LiveGateway) -> None:
    async with live_gateway.http.get(live_gateway.base_url + "/api/v1/openapi.json") as resp:
        doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/customers/{id}/messages" in doc["paths"]


async def test_health_and_metrics(live_gateway: LiveGateway) -> None:
    async with live_gateway.http.get(live_gateway.base_url + "/healthz") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "ok"
    ws, _, _ = await connect(live_gateway)
    await ws.send_json({"type": "message", "text": "merhaba", "client_id": "m"})
    await receive(ws, "message")
    await ws.close()
    async with live_gateway.http.get(live_gateway.base_url + "/metrics") as resp:
        text = await resp.text()
    assert 'omnigate_messages_in_total{channel="webchat"} 1.0' in text
    assert "omnigate_turn_seconds_count 1.0" in text
    assert "omnigate_outbox_depth" in text


async def test_unknown_and_unconfigured_webhooks(live_gateway: LiveGateway) -> None:
    http: aiohttp.ClientSession = live_gateway.http
    async with http.post(live_gateway.base_url + "/webhooks/fax", data=b"x") as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "unknown_channel"
    async with http.post(live_gateway.base_url + "/webhooks/telegram", json={}) as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "channel_not_configured"
