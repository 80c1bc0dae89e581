"""Helpers for the hand-off tests: agents over the REST API, a customer on the web chat."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.support import LiveGateway
from tests.test_webchat_protocol import connect, receive


@dataclass
class Agent:
    gw: LiveGateway
    id: int
    name: str
    token: str

    async def call(self, path: str, method: str = "GET", **kwargs: Any) -> tuple[int, Any]:
        return await call(self.gw, self.token, path, method, **kwargs)

    async def act(self, conversation_id: int, action: str, **body: Any) -> tuple[int, Any]:
        return await self.call(
            f"/api/v1/conversations/{conversation_id}/{action}", "POST", json=body
        )

    async def write(self, conversation_id: int, text: str, note: bool = False) -> dict[str, Any]:
        status, body = await self.call(
            f"/api/v1/conversations/{conversation_id}/messages",
            "POST",
            json={"text": text, "note": note},
        )
        assert status == 201, body
        return body

    async def set(self, **fields: Any) -> dict[str, Any]:
        status, body = await self.call(f"/api/v1/agents/{self.id}", "PATCH", json=fields)
        assert status == 200, body
        return body


async def call(
    gw: LiveGateway, token: str, path: str, method: str = "GET", **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with gw.http.request(method, gw.base_url + path, headers=headers, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None)


async def create_agent(gw: LiveGateway, name: str, **fields: Any) -> Agent:
    email = fields.pop("email", f"{name.lower()}@example.com")
    status, body = await gw.api(
        "/api/v1/agents", "POST", json={"name": name, "email": email, **fields}
    )
    assert status == 201, body
    return Agent(gw, body["id"], body["name"], body["token"])


class Customer:
    """A customer on the web chat widget's protocol."""

    def __init__(self, gw: LiveGateway) -> None:
        self.gw = gw
        self.ws: aiohttp.ClientWebSocketResponse
        self.id = 0
        self._n = 0

    async def __aenter__(self) -> Customer:
        self.ws, hello, _history = await connect(self.gw)
        self.id = hello["customer_id"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def say(self, text: str) -> int:
        self._n += 1
        await self.ws.send_json({"type": "message", "text": text, "client_id": f"c{self._n}"})
        return int((await receive(self.ws, "ack"))["id"])

    async def hears(self, timeout: float = 10.0) -> dict[str, Any]:
        return await receive(self.ws, "message", timeout)

    async def hears_nothing(self, seconds: float = 0.8) -> None:
        try:
            frame = await receive(self.ws, "message", seconds)
        except TimeoutError:
            return
        raise AssertionError(f"the customer got {frame}")

    async def conversation(self) -> dict[str, Any]:
        """The customer's latest conversation."""
        status, body = await self.gw.api(f"/api/v1/conversations?customer_id={self.id}")
        assert status == 200 and body["conversations"], body
        return max(body["conversations"], key=lambda c: c["id"])


async def conversation(gw: LiveGateway, conversation_id: int) -> dict[str, Any]:
    status, body = await gw.api(f"/api/v1/conversations/{conversation_id}")
    assert status == 200, body
    return body


async def wait_state(gw: LiveGateway, conversation_id: int, state: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await conversation(gw, conversation_id)
        return found if found["state"] == state else None

    return await gw.wait_for(check)


async def thread(gw: LiveGateway, conversation_id: int) -> list[dict[str, Any]]:
    status, body = await gw.api(f"/api/v1/conversations/{conversation_id}/messages")
    assert status == 200, body
    return body["messages"]


async def turn_settled(gw: LiveGateway, message_id: int) -> None:
    """Wait until the bot's turn for `message_id` finished (answered or skipped)."""
    await asyncio.sleep(0)
    await gw.wait_for(lambda: _not_pending(gw, message_id))


async def _not_pending(gw: LiveGateway, message_id: int) -> bool:
    from sqlalchemy import select

    from storage.tables import MessageRow

    async with gw.runtime.sessions() as session:
        status = await session.scalar(
            select(MessageRow.turn_status).where(MessageRow.id == message_id)
        )
    return status not in (None, "pending")
