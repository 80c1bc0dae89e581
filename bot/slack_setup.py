"""Slack on the gateway: the two webhook routes and the lifecycle of the Slack parts.

`add_routes(app, runtime)` (bot/app.py, only when Slack is configured) mounts
`POST /webhooks/slack/events` (Events API) and `POST /webhooks/slack/interactivity` (buttons).
On start: the Web API client, auth.test (who our bot is), the mirror (hand-off events ->
threads) and the desk (replies and buttons -> the hand-off service). On stop, before the
runtime stops: no more webhooks (503: Slack tries again later), then what is queued is done.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.settings import Settings

if TYPE_CHECKING:
    from adapters.slack import BotIdentity, SlackApi, SlackReceiver
    from bot.runtime import Runtime
    from bot.slack_desk import SlackDesk
    from bot.slack_mirror import SlackMirror

log = logging.getLogger("omnigate.slack")

EVENTS_PATH = "/webhooks/slack/events"
INTERACTIVITY_PATH = "/webhooks/slack/interactivity"


def configured(settings: Settings) -> bool:
    parts = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_channel)
    if any(parts) and not all(parts):
        log.warning(
            "Slack is off: set OMNIGATE_SLACK_BOT_TOKEN, OMNIGATE_SLACK_SIGNING_SECRET "
            "and OMNIGATE_SLACK_CHANNEL together"
        )
    return all(parts)


def add_routes(app: web.Application, runtime: Runtime) -> None:
    slack = SlackService(runtime)
    app.router.add_post(EVENTS_PATH, slack.handle)
    app.router.add_post(INTERACTIVITY_PATH, slack.handle)
    app.on_startup.append(slack.start)  # after the runtime's own start
    app.on_shutdown.insert(0, slack.stop)  # before the runtime stops


class SlackService:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._api: SlackApi | None = None
        self._receiver: SlackReceiver | None = None
        self._mirror: SlackMirror | None = None
        self._desk: SlackDesk | None = None
        self._bot: BotIdentity | None = None
        self._accepting = False

    async def start(self, _app: web.Application) -> None:
        from adapters.slack import SlackApi, SlackReceiver
        from bot.slack_desk import SlackDesk
        from bot.slack_mirror import SlackMirror

        runtime, settings = self._runtime, self._settings
        self._api = SlackApi(
            settings.slack_bot_token,
            settings.slack_api_url,
            timeout=settings.provider_timeout,
            pace=runtime.coordination.reserve,
        )
        await self._api.start()
        self._mirror = SlackMirror(self._api, runtime.sessions, settings.slack_channel)
        self._desk = SlackDesk(self._api, runtime.sessions, runtime.coordination, runtime.handoff)
        self._receiver = SlackReceiver(
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            client=self._api.new_client(None),
            identity=self.identity,
            on_reply=self._desk.accept_reply,
            on_button=self._desk.accept_button,
        )
        runtime.handoff.subscribe(self._mirror.on_event)
        await self._mirror.start()
        await self._desk.start()
        await self.identity()
        self._accepting = True
        log.info("slack on: threads in %s", settings.slack_channel)

    async def stop(self, _app: web.Application) -> None:
        self._accepting = False
        # Half the grace for what Slack has queued; the runtime stops with its own after this.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.shutdown_grace / 2
        if self._desk is not None:
            await self._desk.stop(deadline - loop.time())
        if self._mirror is not None:
            await self._mirror.stop(max(deadline - loop.time(), 0.0))
        if self._api is not None:
            await self._api.close()

    async def identity(self) -> BotIdentity | None:
        """auth.test, once it has worked (bolt asks on every request)."""
        if self._bot is None and self._api is not None:
            try:
                self._bot = await asyncio.wait_for(self._api.whoami(), 2.0)
            except Exception as exc:
                log.warning("slack auth.test failed (%s): will ask again", exc)
        return self._bot

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._receiver is None or not self._accepting:
            return web.json_response(
                {"error": "unavailable", "message": "Slack is starting or stopping."}, status=503
            )
        response = await self._receiver.handle(request)
        if response.status == 401:
            self._runtime.metrics.webhooks_rejected.labels("slack", "401").inc()
            log.warning("slack webhook rejected: bad or missing signature")
        return response
