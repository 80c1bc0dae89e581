"""The Slack Web API calls Omnigate makes, through slack_sdk's AsyncWebClient.

`chat.postMessage` is paced (Slack allows about one message per second per channel): each
post first asks `pace(key, rate)` for its slot (the coordination's `reserve`, shared by every
worker) and waits for it. A 429 waits the `Retry-After` Slack sent, then tries again;
connection errors and 5xx back off; any other `ok: false` is a `SlackError` at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger("omnigate.slack")

Pace = Callable[[str, float], Awaitable[float]]

MAX_RETRY_AFTER = 60.0


class SlackError(Exception):
    """A Slack API call that failed for good (`code`: Slack's error, e.g. channel_not_found)."""

    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"{method}: {code}")
        self.method = method
        self.code = code


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """auth.test: who our token is."""

    user_id: str
    bot_id: str
    team_id: str
    enterprise_id: str | None = None


class SlackApi:
    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        pace: Pace | None = None,
        post_rate: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        self.token = token
        self.base_url = base_url
        self._timeout = timeout
        self._pace = pace
        self._post_rate = post_rate
        self._max_attempts = max_attempts
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    async def start(self) -> None:
        # slack_sdk applies its own timeout only to sessions it creates: this one has ours.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        self._client = self.new_client(self.token)

    def new_client(self, token: str | None) -> AsyncWebClient:
        """A client on our HTTP session (bolt gets one without token: it never calls Slack)."""
        return AsyncWebClient(
            token=token,
            base_url=self.base_url,
            session=self._session,
            retry_handlers=[],  # retries are ours (below), with the pacing
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            raise RuntimeError("SlackApi.start() first")
        return self._client

    # -- calls -----------------------------------------------------------------------------

    async def whoami(self) -> BotIdentity:
        data = await self._call("auth.test", self.client.auth_test)
        return BotIdentity(
            user_id=str(data.get("user_id") or ""),
            bot_id=str(data.get("bot_id") or ""),
            team_id=str(data.get("team_id") or ""),
            enterprise_id=data.get("enterprise_id") or None,
        )

    async def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> str:
        """Post a message (in a thread when `thread_ts`); its ts."""

        def call() -> Awaitable[AsyncSlackResponse]:
            return self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                reply_broadcast=broadcast if thread_ts else None,
                unfurl_links=False,
                unfurl_media=False,
            )

        data = await self._call("chat.postMessage", call, pace_key=f"slack:post:{channel}")
        return str(data["ts"])

    async def update(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        await self._call(
            "chat.update",
            lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
        )

    async def ephemeral(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        """A message only `user` sees (a notice about their own action)."""
        await self._call(
            "chat.postEphemeral",
            lambda: self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            ),
        )

    async def user_email(self, user_id: str) -> str:
        """The user's email (needs users:read.email), "" when Slack does not tell."""
        try:
            data = await self._call("users.info", lambda: self.client.users_info(user=user_id))
        except SlackError as exc:
            if exc.code in ("user_not_found", "user_not_visible"):
                return ""
            raise
        user = data.get("user") or {}
        if user.get("is_bot") or user.get("deleted"):
            return ""
        return str((user.get("profile") or {}).get("email") or "").strip().lower()

    # -- retries ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        call: Callable[[], Awaitable[AsyncSlackResponse]],
        *,
        pace_key: str | None = None,
    ) -> AsyncSlackResponse:
        for attempt in range(1, self._max_attempts + 1):
            if pace_key is not None:
                await self._wait_for_slot(pace_key)
            try:
                return await call()
            except SlackApiError as exc:
                wait = _retry_wait(exc, attempt)
                if wait is None:
                    raise SlackError(method, str(exc.response.get("error") or "error")) from None
                reason = f"HTTP {exc.response.status_code}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                wait = min(2.0 ** (attempt - 1), 30.0)
                reason = type(exc).__name__
            if attempt == self._max_attempts:
                break
            log.warning("slack %s: %s, retrying in %.1fs", method, reason, wait)
            await asyncio.sleep(wait)
        raise SlackError(method, "gave_up")

    async def _wait_for_slot(self, key: str) -> None:
        if self._pace is None:
            return
        try:
            delay = await self._pace(key, self._post_rate)
        except Exception as exc:  # pacing is a courtesy; Slack's 429 still protects us
            log.warning("slack pacing unavailable (%s)", type(exc).__name__)
            return
        if delay > 0:
            await asyncio.sleep(delay)


def _retry_wait(exc: SlackApiError, attempt: int) -> float | None:
    """Seconds to wait before trying again, None when trying again cannot help."""
    status = exc.response.status_code
    if status == 429:
        raw = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        try:
            wait = float(raw) if raw is not None else 1.0
        except ValueError:
            wait = 1.0
        return min(max(wait, 0.0), MAX_RETRY_AFTER)
    if status >= 500:
        return min(2.0 ** (attempt - 1), 30.0)
    return None
