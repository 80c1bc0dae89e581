"""Slack's HTTP side: a slack-bolt `AsyncApp` behind two aiohttp handlers.

Bolt verifies every request (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing
secret, at most 300 s of clock skew; anything else is 401 before a listener runs) and answers
`url_verification`. Listeners only hand the work over (`on_reply`, `on_button`: quick,
in-memory) and return, so Slack gets its acknowledgement in milliseconds and the work runs
after it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.api import BotIdentity
from adapters.slack.inbound import ButtonPress, ThreadReply, button_press, thread_reply

log = logging.getLogger("omnigate.slack")

OnReply = Callable[[ThreadReply], Awaitable[None]]
OnButton = Callable[[ButtonPress], Awaitable[None]]
Identity = Callable[[], Awaitable[BotIdentity | None]]

_TIMESTAMP = re.compile(r"^\d{1,12}$")


class SlackReceiver:
    def __init__(
        self,
        *,
        token: str,
        signing_secret: str,
        client: AsyncWebClient,
        identity: Identity,
        on_reply: OnReply,
        on_button: OnButton,
    ) -> None:
        """`client` must have no token: bolt takes the token from `identity` (auth.test, done
        once at start) instead of calling auth.test on a webhook's clock."""
        self._token = token
        self._identity = identity
        self._on_reply = on_reply
        self._on_button = on_button
        self.app = AsyncApp(
            name="omnigate",
            client=client,
            signing_secret=signing_secret,
            authorize=self._authorizer(),
            process_before_response=True,  # listeners only enqueue; see the module doc
        )
        self.app.event("message")(self._message)
        self.app.event(re.compile(".*"))(self._other_event)
        self.app.action(re.compile("^omnigate_"))(self._action)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /webhooks/slack/events and /webhooks/slack/interactivity."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _TIMESTAMP.match(timestamp) or not signature.startswith("v0="):
            # Bolt would fail on a timestamp that is not a number; same answer as a bad HMAC.
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request: AsyncBoltRequest = await to_bolt_request(request)
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    # -- bolt ------------------------------------------------------------------------------

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        # A plain function: bolt passes arguments by the names it sees (a method's `self` too).
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            bot = await self._identity()
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=self._token,
                bot_id=bot.bot_id if bot else None,
                bot_user_id=bot.user_id if bot else None,
            )

        return authorize

    async def _message(
        self, body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest
    ) -> None:
        retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        reply = thread_reply(body, context.bot_user_id or "", int(retry) if retry.isdigit() else 0)
        if reply is not None:
            await self._on_reply(reply)

    async def _other_event(self, body: dict[str, Any]) -> None:
        """Events we did not subscribe to for a purpose: acknowledged (or Slack retries)."""
        log.debug("slack event ignored: %s", (body.get("event") or {}).get("type"))

    async def _action(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        press = button_press(body)
        if press is not None:
            await self._on_button(press)
