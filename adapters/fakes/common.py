"""What every provider fake shares: a real aiohttp server, a call log, scripted failures.

A fake speaks the provider's documented wire format over real HTTP, so adapters are tested at
the boundary they have in production. Scripting is per call: `fail_next(2, status=429)` makes
the next two API calls fail, `hang_next()` makes the next one never answer (until `recover()`
or `stop()`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web


@dataclass(slots=True)
class RecordedCall:
    """One API call the fake received, parsed the way the provider would parse it."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    params: list[tuple[str, str]] = field(default_factory=list)  # form fields, in order
    json: Any = None
    status: int = 0  # what the fake answered; 0 while hanging

    @property
    def form(self) -> dict[str, str]:
        """Form fields, first value of each name."""
        return dict(reversed(self.params))

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.params if key == name]


@dataclass(frozen=True, slots=True)
class Failure:
    status: int = 500
    retry_after: float | None = None
    code: int | None = None
    message: str = ""
    hang: bool = False


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status: int
    body: str
    headers: Mapping[str, str]


class FakeServer:
    """Base class: subclasses add routes in `routes()` and use `take_failure()` per API call."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._failures: deque[Failure] = deque()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.base_url = ""

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.add_routes(self.routes())
        self._release = asyncio.Event()
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]  # the real port when port=0
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()  # let hanging handlers finish so the server can shut down
        await self.drain()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- scripting -----------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: float | None = None,
        code: int | None = None,
        message: str = "",
    ) -> None:
        self._failures.extend([Failure(status, retry_after, code, message)] * n)

    def hang_next(self, n: int = 1) -> None:
        self._failures.extend([Failure(hang=True)] * n)

    def recover(self) -> None:
        """Back to normal: drop the scripted failures and let hanging calls finish (answered
        as a gateway timeout, as a provider's own proxy would)."""
        self._failures.clear()
        self._release.set()
        self._release = asyncio.Event()

    def take_failure(self) -> Failure | None:
        return self._failures.popleft() if self._failures else None

    async def hang(self) -> None:
        await self._release.wait()

    # -- recording -----------------------------------------------------------------------

    async def record(self, request: web.Request) -> RecordedCall:
        call = RecordedCall(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            query=dict(request.query),
        )
        content_type = request.content_type
        if content_type == "application/x-www-form-urlencoded":
            call.params = list((await request.post()).items())  # type: ignore[arg-type]
        elif content_type == "application/json":
            try:
                call.json = await request.json()
            except ValueError:
                call.json = None
        self.calls.append(call)
        return call

    # -- background callbacks ------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every status callback the fake scheduled has been delivered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def post_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    session: ClientSession | None = None,
    timeout: float = 15.0,
) -> WebhookResponse:
    """POST a provider webhook and return the gateway's answer (15 s: Twilio's own limit)."""
    owned = session is None
    client = session or ClientSession(timeout=ClientTimeout(total=timeout))
    try:
        async with client.post(url, data=body, headers=dict(headers)) as response:
            text = await response.text()
            return WebhookResponse(response.status, text, dict(response.headers))
    finally:
        if owned:
            with contextlib.suppress(Exception):
                await client.close()
