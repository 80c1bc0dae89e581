"""The agent console's live updates: `GET /console/ws?token=<agent token>` (WebSocket).

Without `?token=` (URLs end up in access logs) the first frame authenticates instead:
``{"type": "auth", "token": "…"}`` within 10 s, else the socket closes with code 4401.
After authenticating it sends ``{"type": "hello", "agent": {...}}`` and then forwards every
event of the EventBus `console` topic as a JSON frame: ``{"type": "message", "message_id",
"conversation_id", …}``, ``{"type": "conversation", "event", "conversation_id", "state",
"assignee_id", …}``, ``{"type": "agent", "agent_id", "status"}``. Events are notices: the
console reads the rows through the REST API. The bus is the coordination port's pub/sub
(Redis in scale-out), so a console on one worker hears what every worker ingests.
Client frames: ``{"type": "ping"}`` -> ``{"type": "pong"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from bot.agent_auth import AgentAuth, is_admin
from bot.api import error
from bot.events import CONSOLE_TOPIC
from bot.handoff_views import agent_json
from bot.runtime import Runtime
from storage import agents as agent_store
from storage.coordination import GAP, Subscription
from storage.tables import AgentRow, MessageRow

AUTH_TIMEOUT = 10.0


def add_routes(app: web.Application, runtime: Runtime, auth: AgentAuth) -> None:
    async def console_ws(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        token = request.query.get("token") or (given[7:] if given.startswith("Bearer ") else "")
        agent = await auth.agent_for(token.strip()) if token.strip() else None
        if token.strip() and agent is None:
            return error(401, "unauthorized", "Wrong token.")
        ws = web.WebSocketResponse(heartbeat=30.0)
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client left during the handshake: nobody to serve
            return ws
        agent = agent or await _auth_frame(ws, auth)
        if agent is None:
            await ws.close(code=4401, message=b"unauthorized")
            return ws
        # Subscribe before saying hello: whatever happens after the hello reaches the client.
        subscription = await runtime.coordination.subscribe(CONSOLE_TOPIC)
        forward = asyncio.create_task(_forward(runtime, ws, subscription))
        try:
            async with runtime.sessions() as session:
                teams = await agent_store.teams_of(session, [agent.id])
                load = await agent_store.load_of(session, agent.id)
            hello = {**agent_json(agent, teams[agent.id], load), "is_admin": is_admin(agent)}
            await ws.send_json({"type": "hello", "agent": hello})
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await _on_text(ws, frame.data)
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            await subscription.close()
        return ws

    app.router.add_get("/console/ws", console_ws)


async def _auth_frame(ws: web.WebSocketResponse, auth: AgentAuth) -> AgentRow | None:
    try:
        frame = await ws.receive_json(timeout=AUTH_TIMEOUT)
    except (TimeoutError, TypeError, ValueError):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        return None
    return await auth.agent_for(str(frame.get("token") or "").strip())


async def _on_text(ws: web.WebSocketResponse, data: str) -> None:
    try:
        frame = json.loads(data)
    except ValueError:
        frame = None
    if isinstance(frame, dict) and frame.get("type") == "ping":
        await ws.send_json({"type": "pong"})
    else:
        await ws.send_json({"type": "error", "code": "bad_frame", "message": "Send ping."})


async def _forward(runtime: Runtime, ws: web.WebSocketResponse, subscription: Subscription) -> None:
    while not ws.closed:
        event = await subscription.get(timeout=30.0)
        if event is None or ws.closed:
            continue
        if event.get("type") == GAP:  # events may have been lost: the console reads again
            await ws.send_json({"type": "resync"})
            continue
        await ws.send_json(await _complete(runtime, event))


async def _complete(runtime: Runtime, event: dict[str, Any]) -> dict[str, Any]:
    """Delivery-status notices from providers name only the message: add its conversation."""
    if event.get("type") != "message" or event.get("conversation_id") is not None:
        return event
    async with runtime.sessions() as session:
        row = await session.get(MessageRow, event.get("message_id") or 0)
    return {**event, "conversation_id": row.conversation_id if row else None}
