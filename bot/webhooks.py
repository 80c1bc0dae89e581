"""Provider webhooks: verify the raw request, parse, persist, then acknowledge."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from adapters.base import ChannelAdapter, RawRequest, WebhookRejected
from adapters.registry import WEBHOOK_PATHS
from bot.gateway import Gateway, Unavailable
from bot.metrics import Metrics

log = logging.getLogger("omnigate.webhooks")


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class WebhookRoutes:
    def __init__(
        self,
        adapters: dict[str, ChannelAdapter],
        gateway: Gateway,
        metrics: Metrics,
        public_base: str,
    ) -> None:
        self._by_path: dict[str, ChannelAdapter] = {}
        for adapter in adapters.values():
            path = getattr(adapter, "webhook_path", None)
            if path:
                self._by_path[path] = adapter
        self._gateway = gateway
        self._metrics = metrics
        self._public_base = public_base
        self._chores: set[asyncio.Task[None]] = set()

    def _adapter_for(self, path: str) -> ChannelAdapter | None:
        # /webhooks/twilio/status belongs to the adapter of /webhooks/twilio.
        for prefix in sorted(self._by_path, key=len, reverse=True):
            if path == prefix or path.startswith(prefix + "/"):
                return self._by_path[prefix]
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        adapter = self._adapter_for(request.path)
        if adapter is None:
            known = next((n for p, n in WEBHOOK_PATHS.items() if request.path.startswith(p)), None)
            if known:
                return _json_error(404, "channel_not_configured", f"{known} is not configured.")
            return _json_error(404, "unknown_channel", f"No channel listens on {request.path}.")
        if not adapter.configured:
            return _json_error(404, "channel_not_configured", f"{adapter.name} is not configured.")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._metrics.webhooks_rejected.labels(adapter.name, "413").inc()
            return _json_error(413, "too_large", "Request body is too large.")
        raw = RawRequest(
            method=request.method,
            # Providers sign the URL they called: behind a proxy that is OMNIGATE_PUBLIC_URL.
            url=self._public_base + request.path_qs,
            headers=dict(request.headers),
            body=body,
            query=dict(request.query),
        )
        try:
            if request.method == "GET":
                reply = await adapter.handshake(raw)
                if reply is None:
                    return _json_error(405, "method_not_allowed", "Use POST.")
            elif request.method == "POST":
                await adapter.verify(raw)
                events = adapter.parse(raw)
                await self._gateway.ingest(events)
                self._acknowledge_later(adapter, events)
                reply = adapter.reply(raw)
            else:
                return _json_error(405, "method_not_allowed", "Use POST.")
        except WebhookRejected as rejected:
            self._metrics.webhooks_rejected.labels(adapter.name, str(rejected.status)).inc()
            log.warning("webhook rejected (%s): %s", adapter.name, rejected.reason)
            return _json_error(rejected.status, "rejected", rejected.reason)
        except Unavailable as exc:
            # Nothing was stored: a 503 makes the provider retry later.
            return _json_error(503, "unavailable", str(exc))
        return web.Response(status=reply.status, text=reply.body, content_type=reply.content_type)

    def _acknowledge_later(self, adapter: ChannelAdapter, events: list) -> None:
        if not events or type(adapter).acknowledge is ChannelAdapter.acknowledge:
            return  # nothing to do: no task per webhook for it
        task = asyncio.create_task(self._acknowledge(adapter, events))
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    @staticmethod
    async def _acknowledge(adapter: ChannelAdapter, events: list) -> None:
        try:
            await adapter.acknowledge(events)
        except Exception:
            log.exception("provider acknowledgement failed (%s)", adapter.name)
