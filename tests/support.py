"""Test support: real gateway servers on loopback and throwaway PostgreSQL databases."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import RUNTIME, create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.database import create_engine

PG_URL = os.environ.get("OMNIGATE_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("OMNIGATE_TEST_REDIS_URL", "")
API_TOKEN = "test-admin-token"


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next JSON frame of type `kind` on a WebSocket (others are skipped), within 20 s."""
    async with asyncio.timeout(20):
        while (frame := await ws.receive_json())["type"] != kind:
            pass
    return frame


async def pubsub_client_ids(admin: Redis, prefix: str) -> list[str]:
    """The Redis client ids of the pub/sub links of coordinations using `prefix`."""
    listing = (await admin.execute_command("CLIENT", "LIST", "TYPE", "pubsub")).decode()
    fields = [
        dict(f.split("=", 1) for f in line.split() if "=" in f) for line in listing.split("\n")
    ]
    return [f["id"] for f in fields if f.get("name") == f"{prefix}pubsub"]


async def break_pubsub_link(prefix: str) -> None:
    """Kill the one gateway's pub/sub link under `prefix` (CLIENT KILL TYPE pubsub would hit
    every user of the server, other tests included)."""
    async with Redis.from_url(REDIS_URL) as admin:
        ids = await pubsub_client_ids(admin, prefix)
        assert len(ids) == 1, ids
        await admin.execute_command("CLIENT", "KILL", "ID", ids[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Any) -> AsyncIterator[str]:
    """A new empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/omnigate-{secrets.token_hex(4)}.db"
        return
    if not PG_URL:
        raise RuntimeError("OMNIGATE_TEST_DATABASE_URL is not set")
    name = f"omnigate_t_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class LiveGateway:
    base_url: str
    settings: Settings
    app: web.Application
    runner: web.AppRunner
    http: aiohttp.ClientSession = field(init=False)

    @property
    def runtime(self) -> Runtime:
        return self.app[RUNTIME]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/webchat/ws"

    async def api(self, path: str, method: str = "GET", **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.http.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def wait_for(self, predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
        """Poll an async predicate until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = await predicate()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    async def transcript(self, customer_id: int) -> list[dict[str, Any]]:
        status, body = await self.api(f"/api/v1/customers/{customer_id}/messages")
        assert status == 200, body
        return body["messages"]


@asynccontextmanager
async def start_gateway(database_url: str, **overrides: Any) -> AsyncIterator[LiveGateway]:
    port = free_port()
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "database_url": database_url,
        "api_token": API_TOKEN,
        "public_url": f"http://127.0.0.1:{port}",
        "outbox_poll_interval": 0.2,
        "shutdown_grace": 5.0,
    }
    values.update(overrides)
    settings = Settings(**values)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    gateway = LiveGateway(f"http://127.0.0.1:{port}", settings, app, runner)
    gateway.http = aiohttp.ClientSession()
    try:
        yield gateway
    finally:
        await gateway.http.close()
        await runner.cleanup()
