"""The agent console: a static page (vanilla JS, no build step) served at `/console`.

It signs in with an agent's token (or the admin's), then uses only the public surface:
the REST API (`/api/v1/me`, `/api/v1/conversations…`, `/api/v1/canned`, `/api/v1/agents/{id}`)
and the live updates of `/console/ws` (bot/console_ws.py). Nothing here reads the database.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"

# Served files: a fixed list, so nothing else under the folder is reachable.
ASSETS = {
    "console.js": "application/javascript",
    "console.css": "text/css",
    "i18n.js": "application/javascript",
}

# The page loads only its own files and talks only to its own origin (API and WebSocket);
# server data is written with textContent, and this policy stops any script that slipped in.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def add_routes(app: web.Application) -> None:
    """`/console` (the page) and `/console/assets/<file>`; `/console/ws` lives elsewhere."""

    async def page(_request: web.Request) -> web.FileResponse:
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
        return web.FileResponse(STATIC / "index.html", headers=headers)

    async def slash(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console")

    async def asset(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        headers = {
            **SECURITY_HEADERS,
            "Content-Type": ASSETS[name],
            "Cache-Control": "no-cache",
        }
        return web.FileResponse(STATIC / name, headers=headers)

    app.router.add_get("/console", page)
    app.router.add_get("/console/", slash)
    app.router.add_get("/console/assets/{name}", asset)
