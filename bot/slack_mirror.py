"""Hand-off events -> the conversation's Slack thread.

The hand-off service tells its listeners every change after the commit; this one turns them
into jobs for one worker, in order: a conversation event refreshes the thread's first message
(state, buttons), and opens the thread when it has none yet; a system entry, a message the
customer wrote while a person has the conversation, and an agent's reply or note written
anywhere but Slack become lines in the thread.

Opening is guarded by a row in `slack_threads` (one worker posts, whatever the number of
workers), and a sweep opens the threads that events could not: a worker that died between
the commit and the post, Slack down for a while, a gateway that stopped with jobs queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack import SlackApi, SlackError, fallback_text, root_blocks
from bot.model import utcnow
from bot.slack_view import mirror_line, thread_summary
from storage import slack as store
from storage.tables import ConversationRow

log = logging.getLogger("omnigate.slack")


@dataclass(frozen=True, slots=True)
class _Job:
    conversation_id: int
    message_id: int = 0  # 0: refresh the first message
    via: str = ""


@dataclass(frozen=True, slots=True)
class _Thread:
    channel: str
    ts: str
    covered_message_id: int
    just_opened: bool = False


def job_for(event: dict[str, Any]) -> _Job | None:
    """The mirror's job for a hand-off event, None when the thread has nothing to show."""
    cid = event.get("conversation_id")
    if not isinstance(cid, int):
        return None
    if event.get("type") == "conversation":
        return _Job(cid)
    if event.get("type") != "message":
        return None
    via = str(event.get("via") or "")
    kind = event.get("event")
    if event.get("sender") == "system" or kind == "customer":
        return _Job(cid, int(event["message_id"]))
    if kind in ("agent_reply", "note") and via != "slack":  # Slack shows its own already
        return _Job(cid, int(event["message_id"]), via or "api")
    return None


class SlackMirror:
    def __init__(
        self,
        api: SlackApi,
        sessions: async_sessionmaker[AsyncSession],
        channel: str,
        *,
        reservation_ttl: float = 60.0,
        sweep_interval: float = 30.0,
        max_jobs: int = 10_000,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._channel = channel
        self._ttl = reservation_ttl
        self._sweep_interval = sweep_interval
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue(max_jobs)
        self._refreshes: Counter[int] = Counter()  # refresh jobs queued per conversation
        self._accepting = False
        self._tasks: list[asyncio.Task[None]] = []

    async def on_event(self, event: dict[str, Any]) -> None:
        """The hand-off listener: only enqueues, so the change that caused it never waits."""
        job = job_for(event)
        if job is not None:
            self._put(job)

    async def start(self) -> None:
        self._accepting = True
        self._tasks = [asyncio.create_task(self._work()), asyncio.create_task(self._sweep())]

    async def stop(self, grace: float) -> None:
        """Post what is queued (up to `grace` seconds), then stop."""
        self._accepting = False
        self._tasks[1].cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._jobs.join(), grace)
        if self._jobs.qsize():
            log.warning("slack mirror stopped with %d jobs left", self._jobs.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _put(self, job: _Job) -> None:
        if not self._accepting:
            log.info("slack mirror stopped: conversation %s not mirrored", job.conversation_id)
            return
        try:
            self._jobs.put_nowait(job)
        except asyncio.QueueFull:
            log.warning(
                "slack mirror queue full: conversation %s not mirrored", job.conversation_id
            )
            return
        if job.message_id == 0:
            self._refreshes[job.conversation_id] += 1

    # -- the worker ------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await self._handle(job)
            except SlackError as exc:
                log.warning("slack mirror of conversation %s failed: %s", job.conversation_id, exc)
            except Exception:
                log.exception("slack mirror of conversation %s failed", job.conversation_id)
            finally:
                self._jobs.task_done()

    async def _handle(self, job: _Job) -> None:
        later_refresh = False
        if job.message_id == 0:
            self._refreshes[job.conversation_id] -= 1
            later_refresh = self._refreshes[job.conversation_id] > 0
            if self._refreshes[job.conversation_id] <= 0:
                del self._refreshes[job.conversation_id]
        thread = await self._thread(job.conversation_id)
        if thread is None:
            return
        if job.message_id == 0:
            if not thread.just_opened and not later_refresh:  # the newest refresh does it
                await self._refresh(job.conversation_id, thread)
            return
        if job.message_id <= thread.covered_message_id:
            return  # the first post's transcript has it
        async with self._sessions() as session:
            line = await mirror_line(session, job.message_id, job.via)
        if line is not None:
            text, broadcast = line
            await self._api.post(thread.channel, text, thread_ts=thread.ts, broadcast=broadcast)

    async def _refresh(self, conversation_id: int, thread: _Thread) -> None:
        async with self._sessions() as session:
            summary = await thread_summary(session, conversation_id, thread.covered_message_id)
        if summary is not None:
            await self._api.update(
                thread.channel, thread.ts, fallback_text(summary), root_blocks(summary)
            )

    # -- opening a thread ------------------------------------------------------------------

    async def _thread(self, conversation_id: int) -> _Thread | None:
        """The conversation's thread; opened now when a person has the conversation and
        nobody opened one; None when there is none to write to."""
        now = utcnow()
        async with self._sessions() as session:
            row = await store.thread_of(session, conversation_id)
            conversation = await session.get(ConversationRow, conversation_id)
        if row is not None and row.thread_ts:
            return _Thread(row.channel, row.thread_ts, row.covered_message_id)
        if conversation is None or conversation.state not in store.OPEN_STATES:
            return None
        async with self._sessions() as session, session.begin():
            if row is None:
                mine = await store.reserve(session, conversation_id, self._channel, now)
            else:  # reserved: by a worker still posting, or one that died doing it
                mine = await store.take_over(
                    session, conversation_id, now - timedelta(seconds=self._ttl), now
                )
        if mine:
            return await self._open(conversation_id)
        return await self._opened_elsewhere(conversation_id)

    async def _open(self, conversation_id: int) -> _Thread | None:
        async with self._sessions() as session:
            covered = await store.latest_message_id(session, conversation_id)
            summary = await thread_summary(session, conversation_id, covered)
        try:
            if summary is None:
                raise SlackError("chat.postMessage", "no_conversation")
            ts = await self._api.post(self._channel, fallback_text(summary), root_blocks(summary))
        except BaseException:
            async with self._sessions() as session, session.begin():
                await store.drop_reservation(session, conversation_id)
            raise
        async with self._sessions() as session, session.begin():
            await store.opened(session, conversation_id, ts, covered)
        log.info("slack thread %s opened for conversation %s", ts, conversation_id)
        return _Thread(self._channel, ts, covered, just_opened=True)

    async def _opened_elsewhere(self, conversation_id: int, wait: float = 5.0) -> _Thread | None:
        """Another worker is opening the thread: wait a little for its ts."""
        deadline = asyncio.get_running_loop().time() + wait
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            async with self._sessions() as session:
                row = await store.thread_of(session, conversation_id)
            if row is None:
                return None
            if row.thread_ts:
                return _Thread(row.channel, row.thread_ts, row.covered_message_id)
        return None

    # -- the sweep -------------------------------------------------------------------------

    async def _sweep(self) -> None:
        while True:
            try:
                cutoff = utcnow() - timedelta(seconds=self._ttl)
                async with self._sessions() as session:
                    missing = await store.missing_threads(session, cutoff)
                for conversation_id in missing:
                    if not self._refreshes[conversation_id]:
                        self._put(_Job(conversation_id))
            except Exception:
                log.exception("slack thread sweep failed")
            await asyncio.sleep(self._sweep_interval)
