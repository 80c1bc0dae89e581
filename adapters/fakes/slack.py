"""A fake Slack workspace: the Web API as a real aiohttp server at `/api/{method}`, and the
people in it, who reply in threads and press buttons (signed Events API and interactivity
requests to the app's URLs).

Web API: auth.test, chat.postMessage, chat.update, chat.postEphemeral, users.info,
conversations.replies. Every call needs the bot token (`Authorization: Bearer …`, or a `token`
argument); answers are Slack's shapes (`{"ok": true, "channel": …, "ts": …}`, errors as
`{"ok": false, "error": …}` with HTTP 200). `fail_next(status=429, retry_after=2)` scripts a
rate limit, `post_interval=1.0` enforces one post per second per channel (429 otherwise).
With `events_url` set, every message the bot posts comes back as a `message` event with its
`bot_id`, as it does from a channel the app subscribes to.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import ClientError, web

from adapters.fakes.common import Failure, FakeServer, RecordedCall, WebhookResponse
from adapters.fakes.slack_events import (
    DEFAULT_APP,
    DEFAULT_SIGNING_SECRET,
    DEFAULT_TEAM,
    block_actions_payload,
    event_callback,
    message_event,
    new_ts,
    send_slack_event,
    send_slack_interaction,
)
from adapters.fakes.slack_wire import (
    SlackApiError,
    bearer_token,
    check_message,
    error_body,
    read_args,
)

DEFAULT_TOKEN = "xoxb-1111111111-2222222222-fakeSlackBotToken0123"
DEFAULT_CHANNEL = "C0HANDOFF1"
BOT_USER = "U0OMNIBOT"
BOT_ID = "B0OMNIBOT"
SCOPES = "chat:write,users:read,users:read.email"

Message = dict[str, Any]


class FakeSlack(FakeServer):
    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        *,
        channels: tuple[str, ...] = (DEFAULT_CHANNEL,),
        team_id: str = DEFAULT_TEAM,
        post_interval: float | None = None,
        echo_bot_messages: bool = True,
        email_scope: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.signing_secret = signing_secret
        self.channels = set(channels)
        self.team_id = team_id
        self.post_interval = post_interval
        self.echo_bot_messages = echo_bot_messages
        self.email_scope = email_scope
        self.events_url = ""  # the app's Events API Request URL
        self.interactivity_url = ""
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: list[Message] = []  # every message in the channels, in order
        self.ephemerals: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.api_calls: list[tuple[str, dict[str, Any]]] = []
        self.rate_limited = 0  # posts refused by `post_interval`
        self.echoes: list[WebhookResponse] = []  # the app's answers to echoed bot messages
        self.undelivered = 0  # echoes the app was not there to take
        self._last_post: dict[str, float] = {}
        self._methods = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "conversations.replies": self._replies,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/api/{method}", self._handle)]

    @property
    def api_url(self) -> str:
        """What OMNIGATE_SLACK_API_URL should be."""
        return self.base_url + "/api/"

    # -- the workspace ---------------------------------------------------------------------

    def add_user(self, user_id: str, email: str, name: str = "", *, is_bot: bool = False) -> None:
        name = name or email.split("@")[0]
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name.lower().replace(" ", "."),
            "real_name": name,
            "deleted": False,
            "is_bot": is_bot,
            "tz": "Europe/Istanbul",
            "profile": {"real_name": name, "display_name": name, "email": email},
        }

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.api_calls if name == method]

    def posts(self, channel: str = DEFAULT_CHANNEL) -> list[Message]:
        """The bot's posts in `channel`, in order (as they are now: updates applied)."""
        return [m for m in self.messages if m["channel"] == channel and m.get("bot_id")]

    def roots(self, channel: str = DEFAULT_CHANNEL) -> list[Message]:
        return [m for m in self.posts(channel) if not m.get("thread_ts")]

    def thread(self, thread_ts: str, channel: str = DEFAULT_CHANNEL) -> list[Message]:
        """The thread's replies (the bot's and people's), oldest first, without its root."""
        return [
            m for m in self.messages if m["channel"] == channel and m.get("thread_ts") == thread_ts
        ]

    def message(self, ts: str, channel: str = DEFAULT_CHANNEL) -> Message:
        return next(m for m in self.messages if m["channel"] == channel and m["ts"] == ts)

    # -- people act (signed requests to the app) -------------------------------------------

    async def user_replies(
        self,
        user: str,
        thread_ts: str,
        text: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        event_id: str | None = None,
    ) -> tuple[WebhookResponse, dict[str, Any]]:
        """`user` writes `text` in a thread: the message appears, the app gets the event."""
        event = message_event(
            channel, user, text, thread_ts=thread_ts, team=self.team_id, parent_user_id=BOT_USER
        )
        self.messages.append(dict(event))
        payload = self.envelope(event, event_id=event_id)
        return await self.send_event(payload), payload

    def envelope(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return event_callback(
            event,
            event_id=event_id,
            team_id=self.team_id,
            api_app_id=DEFAULT_APP,
            bot_user_id=BOT_USER,
        )

    async def send_event(self, payload: dict[str, Any] | bytes, **options: Any) -> WebhookResponse:
        """POST an Events API payload to `events_url` (options: retry_num, signature, …)."""
        if not self.events_url:
            raise RuntimeError("set events_url first")
        return await send_slack_event(self.events_url, payload, self.signing_secret, **options)

    async def redeliver(
        self, payload: dict[str, Any], retry_num: int = 1, reason: str = "http_timeout"
    ) -> WebhookResponse:
        """Slack's retry of an event: the same payload and event_id, with retry headers."""
        return await self.send_event(payload, retry_num=retry_num, retry_reason=reason)

    async def press(
        self, user: str, message_ts: str, action_id: str, *, channel: str = DEFAULT_CHANNEL
    ) -> WebhookResponse:
        """`user` presses the button `action_id` of a message (it must have that button)."""
        message = self.message(message_ts, channel)
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if block.get("type") == "actions" and element.get("action_id") == action_id:
                    payload = block_actions_payload(
                        user=user,
                        channel=channel,
                        message=message,
                        action=element,
                        block_id=str(block.get("block_id") or ""),
                        team_id=self.team_id,
                    )
                    return await send_slack_interaction(
                        self.interactivity_url, payload, self.signing_secret
                    )
        raise LookupError(f"message {message_ts} has no button {action_id!r}")

    # -- the Web API -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        name = request.match_info["method"]
        try:
            args = await read_args(request, call)
        except SlackApiError as exc:
            return self._answer(call, error_body(exc.code))
        self.api_calls.append((name, args))
        method = self._methods.get(name)
        if method is None:
            return self._answer(call, error_body("unknown_method"), status=404)
        token = bearer_token(request, args)
        if not token:
            return self._answer(call, error_body("not_authed"))
        if token != self.token:
            return self._answer(call, error_body("invalid_auth"))
        if scripted := self.take_failure():
            return await self._fail(call, scripted)
        try:
            result = await method(args)
        except SlackApiError as exc:
            if exc.code == "ratelimited":
                return self._answer(
                    call, error_body("ratelimited"), status=429, headers={"Retry-After": "1"}
                )
            return self._answer(call, error_body(exc.code, **exc.extra))
        return self._answer(
            call,
            {"ok": True, **result},
            headers={"X-OAuth-Scopes": SCOPES} if name == "auth.test" else None,
        )

    def _answer(
        self,
        call: RecordedCall,
        body: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        call.status = status
        return web.json_response(body, status=status, headers=headers)

    async def _fail(self, call: RecordedCall, failure: Failure) -> web.Response:
        if failure.hang:
            await self.hang()
            return self._answer(call, error_body("request_timeout"), status=504)
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(int(failure.retry_after))
        code = failure.message or ("ratelimited" if failure.status == 429 else "fatal_error")
        return self._answer(call, error_body(code), status=failure.status, headers=headers)

    async def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://omnigate-test.slack.com/",
            "team": "Omnigate Test",
            "user": "omnigate",
            "team_id": self.team_id,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel(self, args: dict[str, Any]) -> str:
        channel = str(args.get("channel") or "")
        if channel not in self.channels:
            raise SlackApiError("channel_not_found")
        return channel

    async def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        check_message(args)
        now = time.monotonic()
        if self.post_interval is not None:
            last = self._last_post.get(channel)
            if last is not None and now - last < self.post_interval:
                self.rate_limited += 1
                raise SlackApiError("ratelimited")
        self._last_post[channel] = now
        message: Message = {
            "type": "message",
            "channel": channel,
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": DEFAULT_APP,
            "team": self.team_id,
            "text": str(args.get("text") or ""),
            "ts": new_ts(),
            "blocks": args.get("blocks") or [],
            "posted_at": time.time(),
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
            message["parent_user_id"] = BOT_USER
            if args.get("reply_broadcast") in (True, "true", "1", 1):
                message["subtype"] = "thread_broadcast"
        self.messages.append(message)
        if self.echo_bot_messages and self.events_url:
            self.spawn(self._echo(message))
        shown = {k: v for k, v in message.items() if k not in ("channel", "posted_at")}
        return {"channel": channel, "ts": message["ts"], "message": shown}

    async def _echo(self, message: Message) -> None:
        """Slack sends the bot's own posts to the app too (with bot_id): it must ignore them."""
        await asyncio.sleep(0.01)
        event = {k: v for k, v in message.items() if k != "posted_at"}
        event["event_ts"] = message["ts"]
        event["bot_profile"] = {"id": BOT_ID, "app_id": DEFAULT_APP, "name": "Omnigate"}
        try:
            self.echoes.append(await self.send_event(self.envelope(event)))
        except (ClientError, TimeoutError):
            self.undelivered += 1  # the app is gone (stopping): Slack would try later

    async def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        found = [m for m in self.messages if m["channel"] == channel and m["ts"] == ts]
        if not found:
            raise SlackApiError("message_not_found")
        message = found[0]
        if message.get("bot_id") != BOT_ID:
            raise SlackApiError("cant_update_message")
        check_message(args)
        message["text"] = str(args.get("text") or message["text"])
        if "blocks" in args:
            message["blocks"] = args["blocks"] or []
        message["edited"] = {"user": BOT_USER, "ts": new_ts()}
        self.updates.append(
            {"channel": channel, "ts": ts, "text": message["text"], "blocks": message["blocks"]}
        )
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": {k: v for k, v in message.items() if k != "posted_at"},
        }

    async def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = str(args.get("user") or "")
        if user not in self.users:
            raise SlackApiError("user_not_in_channel")
        check_message(args)
        self.ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": args.get("text"),
                "thread_ts": args.get("thread_ts"),
            }
        )
        return {"message_ts": new_ts()}

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackApiError("user_not_found")
        shown = {**user, "profile": dict(user["profile"])}
        if not self.email_scope:
            shown["profile"].pop("email", None)
        return {"user": shown}

    async def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        root = [m for m in self.messages if m["channel"] == channel and m["ts"] == ts]
        if not root:
            raise SlackApiError("thread_not_found")
        replies = self.thread(ts, channel)
        return {"messages": root + replies, "has_more": False}
