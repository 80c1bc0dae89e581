"""The unclaimed-queue watch: a background task in every worker.

A queued conversation nobody claimed within OMNIGATE_HANDOFF_TIMEOUT seconds gets one message
to the customer and the configured fallback (`queue`: it stays queued; `bot`: the bot takes
it back). A conditional UPDATE decides which worker acts, so the customer hears it once.
The same round offers waiting conversations to agents who came online or have room again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff import HandoffService
from bot.handoff_rules import Unreachable
from bot.metrics import Metrics
from bot.model import Outbound, Sender, utcnow
from bot.thread import Effects, language_of, system_note, to_customer
from storage import handoff as queue

log = logging.getLogger("omnigate.queue")


def notice(fallback: str, lang: str) -> str:
    if fallback == "bot":
        return (
            "All our agents are busy right now. Our assistant will keep helping you meanwhile; "
            "you can ask for a person again at any time."
            if lang == "en"
            else "Şu anda tüm temsilcilerimiz meşgul. Bu arada asistanımız size yardımcı olmaya "
            "devam edecek; dilediğiniz zaman yeniden temsilci isteyebilirsiniz."
        )
    return (
        "All our agents are busy right now. You are in the queue; the first free agent will "
        "write to you here."
        if lang == "en"
        else "Şu anda tüm temsilcilerimiz meşgul. Sıradasınız; ilk müsait temsilcimiz size "
        "buradan yazacak."
    )


class QueueWatch:
    def __init__(
        self,
        service: HandoffService,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        *,
        timeout: float,
        fallback: str,
        default_language: str,
    ) -> None:
        if fallback not in ("queue", "bot"):
            raise ValueError(f"OMNIGATE_HANDOFF_FALLBACK must be queue or bot, not {fallback!r}")
        self._service = service
        self._sessions = sessions
        self._metrics = metrics
        self._timeout = timeout
        self._fallback = fallback
        self._default_language = default_language
        # Often enough that a short timeout is honoured closely, rarely enough to cost nothing.
        self._interval = min(5.0, max(0.1, timeout / 4))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.round()
            except Exception:
                log.exception("queue watch round failed")

    async def round(self) -> int:
        """One pass: act on expired queue entries, then offer the queue to free agents."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self._timeout)
        async with self._sessions() as session:
            expired = await queue.unclaimed_since(session, cutoff)
        acted = 0
        for conversation_id in expired:
            acted += await self._expire(conversation_id, cutoff)
        await self._service.assign_waiting()
        async with self._sessions() as session:
            self._metrics.queue_depth.set(await queue.count_queued(session))
        return acted

    async def _expire(self, conversation_id: int, cutoff: datetime) -> bool:
        effects = Effects()
        now = utcnow()
        values: dict[str, object] = {"queue_timeout_at": now, "updated_at": now}
        if self._fallback == "bot":
            values.update(state="bot", assignee_id=None)
        async with self._sessions() as session, session.begin():
            if not await queue.take_timeout(session, conversation_id, cutoff, values):
                return False  # claimed meanwhile, or another worker acted
            conversation = await queue.lock_for_change(session, conversation_id)
            assert conversation is not None
            if self._fallback == "bot":
                conversation.dialog = {**(conversation.dialog or {}), "fallbacks": 0}
            lang = language_of(conversation, self._default_language)
            try:
                await to_customer(
                    session,
                    conversation,
                    Outbound(text=notice(self._fallback, lang), intent="handoff_timeout"),
                    Sender.BOT,
                    now,
                    effects,
                    language=lang,
                )
            except Unreachable:
                pass
            to_bot = self._fallback == "bot"
            await system_note(
                session,
                conversation,
                f"No agent claimed the conversation within {self._timeout:g} s; "
                f"the customer was told, {'back to the bot' if to_bot else 'still queued'}",
                now,
                effects,
                tr=f"{self._timeout:g} sn içinde hiçbir temsilci konuşmayı almadı; müşteriye "
                f"bilgi verildi, {'konuşma bota döndü' if to_bot else 'kuyrukta bekliyor'}",
                event="timeout",
                fallback=self._fallback,
            )
            effects.conversation(conversation, "timeout", fallback=self._fallback)
        effects.after.append(self._metrics.handoff_timeouts.labels(self._fallback).inc)
        await self._service.announce(effects)
        return True
