"""Slack -> the hand-off service: agents' replies in a thread and the thread's buttons.

The webhook only hands work over (`accept_reply`, `accept_button`); one worker does it in
arrival order after Slack has its acknowledgement. A reply goes to the customer on their
current channel through `agent_reply(..., via="slack", client_key=event id)`; `note: …` stays
internal. Slack retries an event it thinks we missed with the same `event_id`: a coordination
claim on it drops the retry at once, and the reply's `client_key` (durable, in the reply's
transaction) makes a repeat that gets past the claim (it expired, the process restarted)
send nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack import ButtonPress, SlackApi, SlackError, ThreadReply, split_note
from bot.handoff import MAX_CLIENT_KEY, HandoffService
from bot.handoff_rules import HandoffError
from bot.slack_agents import SlackAgents
from storage import slack as store
from storage.coordination import Coordination

log = logging.getLogger("omnigate.slack")

NOT_AGENT = (
    "Nothing was sent to the customer: your Slack account is not an Omnigate agent. "
    "An admin can add an agent with your Slack email (POST /api/v1/agents), or set your "
    "Slack user id on your agent (PATCH /api/v1/agents/{id} with slack_user_id)."
)
EMPTY = "Nothing was sent: write some text (files are not sent to customers from Slack)."
EMPTY_NOTE = "Nothing was saved: write the note after `note:`."

Item = ThreadReply | ButtonPress


class SlackDesk:
    def __init__(
        self,
        api: SlackApi,
        sessions: async_sessionmaker[AsyncSession],
        coordination: Coordination,
        handoff: HandoffService,
        *,
        dedupe_ttl: float = 24 * 3600.0,
        max_items: int = 10_000,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._coordination = coordination
        self._handoff = handoff
        self._agents = SlackAgents(api, sessions)
        self._dedupe_ttl = dedupe_ttl
        self._items: asyncio.Queue[Item] = asyncio.Queue(max_items)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._work())

    async def stop(self, grace: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._items.join(), grace)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- from the webhook (fast: Slack waits for these) --------------------------------------

    async def accept_reply(self, reply: ThreadReply) -> None:
        if not await self._coordination.claim(_dedupe_key(reply.event_id), self._dedupe_ttl):
            log.info("slack event %s again (retry %s): ignored", reply.event_id, reply.retry_num)
            return
        try:
            self._put(reply)
        except asyncio.QueueFull:
            await self._forget(reply.event_id)  # the retry Slack sends after our 500 may run
            raise

    async def accept_button(self, press: ButtonPress) -> None:
        self._put(press)

    def _put(self, item: Item) -> None:
        # A full queue raises: the webhook answers 500 and Slack tries again later.
        self._items.put_nowait(item)

    # -- the worker --------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            item = await self._items.get()
            try:
                if isinstance(item, ThreadReply):
                    await self._reply(item)
                else:
                    await self._button(item)
            except Exception:
                log.exception("slack %s failed", type(item).__name__)
                if isinstance(item, ThreadReply):  # let a retry of the event try again
                    await self._forget(item.event_id)
            finally:
                self._items.task_done()

    async def _reply(self, reply: ThreadReply) -> None:
        async with self._sessions() as session:
            cid = await store.conversation_of(session, reply.channel, reply.thread_ts)
        if cid is None:
            return  # a thread that is not a hand-off's
        agent = await self._agents.resolve(reply.user)
        if agent is None:
            await self._notice(reply.channel, reply.user, reply.thread_ts, NOT_AGENT)
            return
        text, note = split_note(reply.text)
        if not text:
            await self._notice(
                reply.channel, reply.user, reply.thread_ts, EMPTY_NOTE if note else EMPTY
            )
            return
        try:
            await self._handoff.agent_reply(
                cid, agent, text, note, via="slack", client_key=_client_key(reply.event_id)
            )
        except HandoffError as exc:
            what = "saved" if note else "sent to the customer"
            await self._notice(
                reply.channel, reply.user, reply.thread_ts, f"Not {what}: {exc.message}"
            )

    async def _button(self, press: ButtonPress) -> None:
        agent = await self._agents.resolve(press.user)
        if agent is None:
            await self._notice(press.channel, press.user, press.message_ts, NOT_AGENT)
            return
        try:
            if press.action == "claim":
                await self._handoff.claim(press.conversation_id, agent)
            elif press.action == "release":
                await self._handoff.release(press.conversation_id, agent)
            else:
                await self._handoff.close(press.conversation_id, agent)
        except HandoffError as exc:
            await self._notice(
                press.channel,
                press.user,
                press.message_ts,
                f"Could not {press.action}: {exc.message}",
            )

    async def _notice(self, channel: str, user: str, thread_ts: str, text: str) -> None:
        try:
            await self._api.ephemeral(channel, user, text, thread_ts=thread_ts or None)
        except SlackError as exc:
            log.warning("slack notice to %s failed: %s", user, exc.code)

    async def _forget(self, event_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._coordination.forget(_dedupe_key(event_id))


def _dedupe_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


def _client_key(event_id: str) -> str:
    key = f"slack:{event_id}"
    if len(key) > MAX_CLIENT_KEY:
        key = "slack:" + hashlib.sha256(event_id.encode()).hexdigest()[:40]
    return key
