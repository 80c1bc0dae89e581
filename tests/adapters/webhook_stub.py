"""A minimal webhook endpoint for adapter tests: the route logic the gateway runs, no storage.

It builds a `RawRequest` from what arrived over real HTTP (public URL + path + query, headers,
raw body), then verify -> parse -> reply, and keeps the events, so provider fakes can deliver
signed webhooks and status callbacks to an adapter end to end.
"""

from __future__ import annotations

from aiohttp import web

from adapters.base import ChannelAdapter, RawRequest, WebhookRejected, WebhookReply
from bot.model import Event


class WebhookStub:
    def __init__(self) -> None:
        self.adapter: ChannelAdapter | None = None
        self.events: list[Event] = []
        self.rejected: list[WebhookRejected] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, *paths: str) -> str:
        app = web.Application()
        for path in paths:
            app.router.add_route("*", path, self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        assert self.adapter is not None
        raw = RawRequest(
            method=request.method,
            url=self.base_url + request.path_qs,
            headers=dict(request.headers),
            body=await request.read(),
            query=dict(request.query),
        )
        try:
            if request.method == "GET":
                reply = await self.adapter.handshake(raw)
                if reply is None:
                    return web.Response(status=405)
            else:
                await self.adapter.verify(raw)
                self.events += self.adapter.parse(raw)
                reply = self.adapter.reply(raw)
        except WebhookRejected as exc:
            self.rejected.append(exc)
            return web.Response(status=exc.status, text=exc.reason)
        return _response(reply)


def _response(reply: WebhookReply) -> web.Response:
    return web.Response(status=reply.status, text=reply.body, content_type=reply.content_type)
