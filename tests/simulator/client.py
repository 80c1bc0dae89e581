"""The simulator's HTTP API as a test uses it: send as a customer, wait for what the phone gets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp

Item = dict[str, Any]
WAIT = 20.0


class SimClient:
    def __init__(self, base_url: str, admin_token: str, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.admin_token = admin_token
        self.http = http

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.base_url + path, **kwargs) as answer:
            return answer.status, await answer.json(content_type=None)

    async def send(self, **body: Any) -> tuple[int, Any]:
        if "sender" in body:
            body["from"] = body.pop("sender")
        return await self.request("POST", "/simulator/api/send", json=body)

    async def items(self, after: int = 0) -> list[Item]:
        status, body = await self.request("GET", f"/simulator/api/events?after={after}")
        assert status == 200, body
        return list(body["items"])

    async def wait_message(self, predicate: Callable[[Item], bool], timeout: float = WAIT) -> Item:
        """The first phone message (its current state) for which `predicate` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen: list[Item] = []
        while asyncio.get_running_loop().time() < deadline:
            seen = [i for i in await self.items() if i["type"] == "message"]
            found = [i for i in seen if predicate(i)]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        summary = [(i["channel"], i["direction"], i["text"][:40], i["status"]) for i in seen]
        raise AssertionError(f"no such phone message within {timeout}s; feed: {summary}")

    async def api(self, path: str, method: str = "GET", token: str = "", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return await self.request(method, path, headers=headers, **kw)

    async def customer(self, identity: str) -> tuple[int, Any]:
        channel, _, external = identity.partition(":")
        return await self.api(f"/api/v1/customers?identity={channel}:{quote(external)}")
