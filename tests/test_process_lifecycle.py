"""Crash safety and graceful shutdown of the real server process.

Persist before acknowledging, and write replies in the same transaction that marks a message
answered: a SIGKILL right after an ack loses nothing, and no message is answered twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.processes import GatewayProcess


async def _send_burst(gateway: GatewayProcess, count: int) -> tuple[int, list[int]]:
    """Send `count` messages on one web chat session; return (customer id, acked ids)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(gateway.ws_url) as ws:
        hello = await ws.receive_json()
        customer_id = hello["customer_id"]
        for i in range(count):
            await ws.send_json(
                {"type": "message", "text": f"sipariş {20000 + i}", "client_id": f"k{i}"}
            )
        acked: list[int] = []
        async with asyncio.timeout(20):
            while len(acked) < count:
                frame = await ws.receive_json()
                if frame["type"] == "ack":
                    acked.append(frame["id"])
    return customer_id, acked


async def _wait_for_replies(
    gateway: GatewayProcess, customer_id: int, expected: int
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        body = await gateway.api(f"/api/v1/customers/{customer_id}/messages")
        messages = body["messages"]
        if len([m for m in messages if m["direction"] == "out"]) >= expected:
            await asyncio.sleep(1.0)  # give a duplicate the chance to show up
            return (await gateway.api(f"/api/v1/customers/{customer_id}/messages"))["messages"]
        assert asyncio.get_running_loop().time() < deadline, messages
        await asyncio.sleep(0.2)


def _assert_one_reply_each(messages: list[dict[str, Any]], acked: list[int], count: int) -> None:
    inbound = [m for m in messages if m["direction"] == "in"]
    replies = [m for m in messages if m["direction"] == "out"]
    assert sorted(m["id"] for m in inbound) == sorted(acked)
    assert [m["text"] for m in inbound] == [f"sipariş {20000 + i}" for i in range(count)]
    assert len(replies) == count
    for i, reply in enumerate(replies):
        assert str(20000 + i) in reply["text"]


async def test_sigkill_after_ack_loses_nothing_and_answers_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/crash.db"
    gateway = GatewayProcess(url, tmp_path / "gateway.log")
    await gateway.start()
    try:
        customer_id, acked = await _send_burst(gateway, 30)
        gateway.kill()  # right after the last ack: many turns are still pending
        restarted = GatewayProcess(url, tmp_path / "gateway.log")
        await restarted.start()
        try:
            messages = await _wait_for_replies(restarted, customer_id, 30)
            _assert_one_reply_each(messages, acked, 30)
        finally:
            restarted.stop()
    finally:
        gateway.stop()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_sigterm_finishes_turns_in_flight(tmp_path: Path, loop: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/term.db"
    gateway = GatewayProcess(url, tmp_path / "gateway.log", OMNIGATE_EVENT_LOOP=loop)
    await gateway.start()
    try:
        customer_id, acked = await _send_burst(gateway, 20)
        assert gateway.terminate() == 0
        log = (tmp_path / "gateway.log").read_text()
        assert "Traceback" not in log, log
        assert f"event loop {loop})" in log, log
        restarted = GatewayProcess(url, tmp_path / "gateway.log")
        await restarted.start()
        try:
            messages = await _wait_for_replies(restarted, customer_id, 20)
            _assert_one_reply_each(messages, acked, 20)
        finally:
            restarted.stop()
    finally:
        gateway.stop()
