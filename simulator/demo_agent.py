"""The simulation's built-in agent, made through the gateway's own REST API at start.

`POST /api/v1/agents` with the run's admin token: an online agent who is never auto-assigned
(`max_concurrent` 0), so a hand-off waits in the queue until someone claims it in the agent
pane or the console. Its token is shown on the simulator page ("Open console" works in one
click). A gateway without the hand-off API simply has no demo agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

log = logging.getLogger("omnigate.simulator")

DEMO_AGENT = {
    "name": "Deniz (demo agent)",
    "email": "deniz.demo@simulator.localhost",
    "role": "agent",
    "status": "online",
    "max_concurrent": 0,
}


@dataclass(frozen=True, slots=True)
class DemoAgent:
    id: int
    name: str
    token: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "token": self.token}


async def create_demo_agent(gateway_url: str, admin_token: str) -> DemoAgent | None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=10)) as http,
            http.post(gateway_url + "/api/v1/agents", json=DEMO_AGENT, headers=headers) as answer,
        ):
            body = await answer.json(content_type=None)
            status = answer.status
    except (ClientError, TimeoutError, ValueError) as exc:
        log.warning("[simulation] no demo agent: %s", exc)
        return None
    if status != 201 or not isinstance(body, dict) or "token" not in body:
        log.warning("[simulation] no demo agent: POST /api/v1/agents answered %s", status)
        return None
    return DemoAgent(int(body["id"]), str(body["name"]), str(body["token"]))
