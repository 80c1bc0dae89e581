"""Only this machine's pages may drive the simulator.

Listening on loopback keeps other machines out; two checks keep other web pages out too:
the Host header must be a loopback name (a DNS-rebinding page sends its own name), and a POST
must be JSON (a cross-site page cannot send that without a CORS preflight, never granted
here). With an explicit non-loopback `--host` the user chose exposure; the Host check is off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

from bot.api import error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK_NAMES


def local_only(handler: Handler, listen_host: str) -> Handler:
    check_host = is_loopback(listen_host)

    async def guarded(request: web.Request) -> web.StreamResponse:
        if check_host:
            try:
                name = URL(f"http://{request.host}").host or ""
            except ValueError:
                name = ""
            if not is_loopback(name):
                return error(
                    403, "forbidden", "The simulator answers on its loopback address only."
                )
        if request.method == "POST" and request.content_type != "application/json":
            return error(
                415, "unsupported_media_type", "Send JSON (Content-Type: application/json)."
            )
        return await handler(request)

    return guarded
