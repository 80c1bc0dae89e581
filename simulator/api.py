"""The simulator's HTTP surface, mounted on the gateway only in simulate mode.

GET  /simulator                      the page (static HTML, CSS and vanilla JS)
GET  /simulator/api/state            numbers, personas, tokens, the demo agent, console
POST /simulator/api/send             a customer's message -> a signed provider webhook
POST /simulator/api/whatsapp-window  {"phone", "hours"}: age the 24-hour window
GET  /simulator/api/events?after=N   the phones' feed since seq N (polling)
GET  /simulator/ws?after=N           the same feed, pushed (WebSocket)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.api import error
from bot.app import RUNTIME
from bot.phones import normalize_phone
from simulator import media
from simulator.credentials import SMS_FROM, TELEGRAM_BOT, TWILIO_WHATSAPP_FROM
from simulator.guard import Handler, local_only
from simulator.personas import PERSONAS
from simulator.send_request import BadSend, CustomerSend
from simulator.window import age_whatsapp_window

if TYPE_CHECKING:
    from simulator.simulation import Simulation

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".js": "application/javascript", ".css": "text/css", ".html": "text/html"}
NO_CACHE = {"Cache-Control": "no-store"}
CONSOLE_PATH = "/console"


def mount(app: web.Application, sim: Simulation) -> None:
    static_files = {
        path.name: CONTENT_TYPES[path.suffix]
        for path in STATIC.iterdir()
        if path.suffix in CONTENT_TYPES
    }

    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=NO_CACHE)

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in static_files:
            raise web.HTTPNotFound()
        headers = {"Content-Type": static_files[name], **NO_CACHE}
        return web.FileResponse(STATIC / name, headers=headers)

    async def photo(_request: web.Request) -> web.Response:
        return web.Response(text=media.PARCEL_SVG, content_type=media.CONTENT_TYPE)

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "simulation": True,
                "gateway_url": sim.url,
                "admin_token": sim.settings.api_token,
                "agent": sim.agent.to_dict() if sim.agent else None,
                "console": {"url": CONSOLE_PATH, "available": _has_console(app)},
                "numbers": {
                    "sms": SMS_FROM,
                    "whatsapp": sim.settings.whatsapp_number,
                    "whatsapp_twilio": TWILIO_WHATSAPP_FROM,
                },
                "telegram_bot": {
                    "username": TELEGRAM_BOT.username,
                    "name": TELEGRAM_BOT.first_name,
                },
                "personas": [p.to_dict() for p in PERSONAS],
                "providers": {
                    "twilio": sim.providers.twilio.base_url,
                    "whatsapp_cloud": sim.providers.graph.base_url,
                    "telegram": sim.providers.telegram.base_url,
                },
                "last_seq": sim.feed.last_seq,
            }
        )

    async def send(request: web.Request) -> web.Response:
        body = await _json(request)
        if isinstance(body, web.Response):
            return body
        try:
            customer_send = CustomerSend.parse(body, sim.settings.default_region)
        except BadSend as bad:
            return error(400, "bad_request", str(bad))
        item = await sim.deliverer.send(customer_send)
        return web.json_response({"message": item})

    async def whatsapp_window(request: web.Request) -> web.Response:
        body = await _json(request)
        if isinstance(body, web.Response):
            return body
        phone = normalize_phone(str(body.get("phone", "")), sim.settings.default_region)
        hours = body.get("hours", 25)
        if phone is None:
            return error(400, "bad_request", "phone: a phone number, e.g. +90 555 111 22 33.")
        if not isinstance(hours, int | float) or isinstance(hours, bool):
            return error(400, "bad_request", "hours: how far back the last message goes, 0-720.")
        if not (math.isfinite(hours) and 0 <= hours <= 720):
            return error(400, "bad_request", "hours: how far back the last message goes, 0-720.")
        sessions = app[RUNTIME].sessions
        result = await age_whatsapp_window(sessions, sim.providers, phone, float(hours))
        if result is None:
            return error(
                404, "no_window", f"Nobody wrote from {phone} on WhatsApp yet: there is no window."
            )
        sim.feed.note(
            f"Simulation control: {phone}'s last WhatsApp message moved {hours:g} h back; "
            f"the 24-hour window is {'open' if result['window_open'] else 'closed'}.",
            channel="whatsapp",
            peer=phone,
        )
        return web.json_response(result)

    async def events(request: web.Request) -> web.Response:
        after = request.query.get("after", "0")
        if not after.isdigit():
            return error(400, "bad_request", "after: a sequence number.")
        return web.json_response(
            {"items": sim.feed.items_after(int(after)), "last_seq": sim.feed.last_seq}
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        after = request.query.get("after", "0")
        socket = web.WebSocketResponse(heartbeat=30.0)
        try:
            await socket.prepare(request)
        except ConnectionError:  # the client left during the handshake: nobody to serve
            return socket
        queue = sim.feed.subscribe()
        forward = asyncio.create_task(_forward(socket, queue))
        try:
            backlog = sim.feed.items_after(int(after) if after.isdigit() else 0)
            await socket.send_json({"type": "hello", "items": backlog})
            async for frame in socket:  # the page sends nothing; this waits for the close
                if frame.type == WSMsgType.ERROR:
                    break
        finally:
            sim.feed.unsubscribe(queue)
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
        return socket

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/simulator", page),
        ("GET", "/simulator/", page),
        ("GET", "/simulator/static/{name}", static),
        ("GET", media.PATH, photo),
        ("GET", "/simulator/api/state", state),
        ("POST", "/simulator/api/send", send),
        ("POST", "/simulator/api/whatsapp-window", whatsapp_window),
        ("GET", "/simulator/api/events", events),
        ("GET", "/simulator/ws", websocket),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, local_only(handler, sim.host))


async def _forward(socket: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while not socket.closed:
        item = await queue.get()
        if item.get("type") == "bye":
            await socket.close()
            return
        with contextlib.suppress(ConnectionError):
            await socket.send_json(item)


async def _json(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        return error(400, "bad_json", "The body must be a JSON object.")
    if not isinstance(body, dict):
        return error(400, "bad_json", "The body must be a JSON object.")
    return body


def _has_console(app: web.Application) -> bool:
    """The agent console page is installed (the hand-off API alone is not a console)."""
    for resource in app.router.resources():
        if resource.canonical.rstrip("/") == CONSOLE_PATH:
            return True
    return False
