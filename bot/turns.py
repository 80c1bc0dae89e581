"""Bot turns: one at a time per conversation, in arrival order, any number of conversations
in parallel.

The inbox is the messages table itself: an inbound row is `pending` until the transaction that
writes the bot's replies (to the outbox) and its new dialog state also marks it `done`. A crash
before that commit leaves it pending and it is answered after restart; a crash after it cannot
answer it twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import (
    ConversationView,
    CustomerView,
    DialogState,
    TurnContext,
)
from bot.events import EventBus
from bot.fallbacks import count_misses
from bot.group_commit import GroupCommitter
from bot.handoff import HandoffService
from bot.identity_actions import IdentityActions
from bot.intents import IntentMatcher
from bot.metrics import Metrics
from bot.model import (
    Address,
    Delivery,
    Inbound,
    Kind,
    Media,
    Outbound,
    Sender,
    payload_digest,
    utcnow,
)
from bot.optout import confirmation, opt_keyword
from bot.router import Router
from bot.textnorm import detect_language
from bot.thread import Effects
from storage import conversations, messages, turn_state
from storage.coordination import Coordination
from storage.tables import IdentityRow

log = logging.getLogger("omnigate.turns")

LOCK_TTL = 60.0
# A message whose turn crashes this many times is parked as failed instead of retried forever.
MAX_TURN_FAILURES = 5
# How many of the customer's latest messages a handler sees as context.
TRANSCRIPT_SIZE = 20


class TurnRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        coordination: Coordination,
        router: Router,
        matcher: IntentMatcher | None,
        events: EventBus,
        metrics: Metrics,
        wake_sender: Callable[[int], None],
        *,
        default_language: str = "tr",
        concurrency: int = 64,
        sweep_interval: float = 1.0,
        lock_ttl: float = LOCK_TTL,
        identity_actions: IdentityActions | None = None,
        handoff: HandoffService | None = None,
        writers: int = 1,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._coordination = coordination
        self._router = router
        self._matcher = matcher
        self._events = events
        self._metrics = metrics
        self._wake_sender = wake_sender
        self._default_language = default_language
        self._slots = asyncio.Semaphore(concurrency)
        self._sweep_interval = sweep_interval
        self._lock_ttl = lock_ttl
        self._identity_actions = identity_actions
        self._handoff = handoff
        self._owner = f"turns-{uuid.uuid4().hex[:12]}"
        self._running: dict[int, asyncio.Task[None]] = {}
        self._failures: dict[int, int] = {}
        self._again: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        # Concurrent turns share their reads and their commits (see storage/turn_state.py).
        self._reads = GroupCommitter(
            read_sessions or sessions, apply_batch=self._read_batch, writers=writers
        )
        self._writes = GroupCommitter(sessions, apply_batch=turn_state.write_turns, writers=writers)

    # -- scheduling -------------------------------------------------------------------------

    def schedule(self, conversation_id: int) -> None:
        """Make sure the conversation's pending messages get their turns (non-blocking)."""
        if self._stopping:
            return
        if conversation_id in self._running:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._drain(conversation_id))
        self._running[conversation_id] = task
        task.add_done_callback(lambda _t, cid=conversation_id: self._running.pop(cid, None))

    async def start(self) -> None:
        self._reads.start()
        self._writes.start()
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    @staticmethod
    async def _read_batch(
        session: AsyncSession, conversation_ids: list[int]
    ) -> list[turn_state.TurnInput | None]:
        found = await turn_state.next_turns(session, conversation_ids)
        return [found.get(cid) for cid in conversation_ids]

    async def _latest_messages(self, customer_id: int) -> list[Any]:
        async with self._sessions() as session:
            return await turn_state.latest_messages(session, customer_id, TRANSCRIPT_SIZE)

    async def sweep(self) -> None:
        """Pick up conversations with pending messages: after a restart, a crash elsewhere,
        or a message that arrived while another worker held the conversation."""
        async with self._sessions() as session:
            pending = await messages.pending_conversations(session)
        for conversation_id in pending:
            self.schedule(conversation_id)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")

    async def stop(self, grace: float) -> None:
        """Take no new turns; let the ones in flight finish within `grace` seconds."""
        self._stopping = True
        if self._sweeper:
            self._sweeper.cancel()
        tasks = list(self._running.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
        await self._reads.stop()
        await self._writes.stop()

    @property
    def busy(self) -> int:
        return len(self._running)

    async def _drain(self, conversation_id: int) -> None:
        key = f"turn:{conversation_id}"
        try:
            locked = await self._coordination.try_lock(key, self._owner, self._lock_ttl)
        except Exception as exc:  # coordination down: the message stays pending
            log.warning("turn lock unavailable, the sweeper retries: %s", exc)
            return
        if not locked:
            return  # another worker runs this conversation; the sweeper retries later
        loop = asyncio.get_running_loop()
        extend_at = loop.time() + self._lock_ttl / 6
        try:
            while not self._stopping:
                self._again.discard(conversation_id)
                turn = await self._reads.submit(conversation_id)
                if turn is None:
                    if conversation_id in self._again:
                        continue
                    return
                try:
                    async with self._slots:
                        await self._run_turn(turn)
                except Exception:
                    await self._turn_crashed(turn.message)
                    return  # the sweeper comes back; the failure count stops a loop
                # A round trip only once the lock has aged; every turn still starts with
                # at least 5/6 of the TTL ahead of it.
                if loop.time() >= extend_at:
                    await self._coordination.extend_lock(key, self._owner, self._lock_ttl)
                    extend_at = loop.time() + self._lock_ttl / 6
        except Exception:
            log.exception("turns failed", extra={"conversation_id": conversation_id})
        finally:
            try:
                await self._coordination.unlock(key, self._owner)
            except Exception as exc:  # the lock expires by itself
                log.warning("turn unlock failed: %s", exc)

    async def _turn_crashed(self, row: Row[Any]) -> None:
        """A turn failed outside the handler (a bug, the database): retry a few times, then
        park the message as failed so one bad message cannot spin the gateway."""
        failures = self._failures.get(row.id, 0) + 1
        self._failures[row.id] = failures
        log.exception(
            "turn failed (attempt %d of %d)",
            failures,
            MAX_TURN_FAILURES,
            extra={"conversation_id": row.conversation_id},
        )
        if failures < MAX_TURN_FAILURES:
            await asyncio.sleep(min(5.0, 0.2 * 2**failures))
            return
        self._failures.pop(row.id, None)
        try:
            async with self._sessions() as session, session.begin():
                await turn_state.finish_turn(session, row.id, "failed")
            log.error(
                "message %d parked as failed",
                row.id,
                extra={"conversation_id": row.conversation_id},
            )
        except Exception:
            log.exception("could not park message %d", row.id)

    # -- one turn ---------------------------------------------------------------------------

    async def _run_turn(self, turn: turn_state.TurnInput) -> None:
        started = time.perf_counter()
        row, conversation, customer = turn.message, turn.conversation, turn.customer
        identities = turn.identities
        memory: dict[str, Any] = dict(conversation.dialog or {})
        inbound = _inbound_from_row(row)
        _map_numbered_answer(inbound, memory)
        language = memory.get("lang") or self._default_language
        language = _language(inbound, language)
        ctx = TurnContext(
            message=inbound,
            customer=CustomerView(
                id=customer.id,
                display_name=customer.display_name,
                phone=customer.phone,
                email=customer.email,
                identities=tuple((i.channel, i.external_id) for i in identities),
            ),
            conversation=ConversationView(
                id=conversation.id,
                state=conversation.state,
                last_channel=conversation.last_channel,
                last_inbound=dict(conversation.last_inbound or {}),
            ),
            dialog=DialogState.from_dict(memory.get("dialog")),
            history=lambda: self._latest_messages(customer.id),
            matcher=self._matcher,
            language=language,
            memory=memory,
            identity_actions=self._identity_actions,
        )
        opt = self._opt_change(row, identities)
        if opt is not None:
            # Honoured whoever owns the conversation; the confirmation is the only message
            # an opted-out identity still gets.
            kind, _identity = opt
            await ctx.reply(
                Outbound(text=confirmation(kind, language), intent=f"opt{kind}_confirmation")
            )
            await self._commit(row, ctx, "done", identities, opt=opt)
            return
        if self._handoff is not None and await self._handoff.capture_rating(row):
            return  # the customer rated their closed conversation (bot/csat.py)
        if conversation.state != "bot":
            # A person owns (or is about to own) the conversation: the bot stays silent.
            async with self._sessions() as session, session.begin():
                skipped = await turn_state.finish_turn(session, row.id, "skipped")
            if skipped and self._handoff is not None:
                await self._handoff.customer_wrote(row, conversation.state)
            return
        status = "done"
        try:
            await self._router.handle(ctx)
            await count_misses(ctx)  # two misunderstandings in a row -> a person
        except Exception:
            log.exception("handler failed", extra={"conversation_id": conversation.id})
            status = "failed"
            ctx.replies.clear()
            await ctx.reply(
                ctx.t(
                    "Üzgünüm, bir sorun oluştu. Lütfen tekrar dener misiniz?",
                    "Sorry, something went wrong. Could you try again?",
                )
            )
        await self._commit(row, ctx, status, identities)
        self._metrics.turn_latency.observe(time.perf_counter() - started)

    @staticmethod
    def _opt_change(row: Row[Any], identities: list[Row[Any]]) -> tuple[str, Row[Any]] | None:
        kind = opt_keyword(row.channel, row.text)
        if kind is None or row.address is None:
            return None
        chat_id = row.address.get("chat_id")
        identity = next(
            (i for i in identities if i.channel == row.channel and i.external_id == chat_id), None
        )
        if identity is None:
            return None
        # "YES" is an opt-in only for someone opted out; otherwise it is a plain answer.
        if kind == "in" and identity.opted_out_at is None:
            return None
        return kind, identity

    async def _commit(
        self,
        row: Row[Any],
        ctx: TurnContext,
        status: str,
        identities: list[Any],
        opt: tuple[str, Row[Any]] | None = None,
    ) -> None:
        now = utcnow()
        write = _turn_write(row, ctx, status, identities, now)
        if opt is None and not ctx.handoff_reason:
            # The common turn: committed together with other conversations' turns.
            reply_ids = await self._writes.submit(write)
            if reply_ids is None:
                return  # answered already (another worker after a lease expiry)
            await self._announce(row, reply_ids)
            return
        reply_ids = []
        async with self._sessions() as session, session.begin():
            if not await turn_state.finish_turn(session, row.id, status):
                return  # answered already (another worker after a lease expiry): roll back
            if opt is not None:
                kind, identity = opt
                await session.execute(
                    update(IdentityRow)
                    .where(IdentityRow.id == identity.id)
                    .values(
                        opted_out_at=now if kind == "out" else None,
                        opt_source=f"{row.channel} keyword {row.text.strip()[:40]!r} "
                        f"at {now.isoformat()} (message {row.id})",
                    )
                )
            for values, address, body in write.replies:
                reply_ids.append(await turn_state.insert_reply(session, values, address, body))
            effects = Effects()
            if ctx.handoff_reason:
                # The hand-off steps work on the locked conversation object.
                conversation = await conversations.lock_conversation(session, row.conversation_id)
                assert conversation is not None
                conversation.dialog = write.dialog
                conversation.updated_at = now
                if self._handoff is not None:
                    await self._handoff.queue_in_turn(
                        session, conversation, ctx.handoff_reason, now, effects, ctx.handoff_team
                    )
                else:
                    conversation.state = "queued"
                    conversation.handoff_reason = ctx.handoff_reason
            else:
                await turn_state.save_dialog(session, row.conversation_id, write.dialog, now)
        await self._announce(row, reply_ids)
        if self._handoff is not None:
            await self._handoff.announce(effects)  # queued / assigned events
        elif ctx.handoff_reason:
            await self._events.conversation_changed(row.conversation_id, "queued")

    async def _announce(self, row: Row[Any], reply_ids: list[int]) -> None:
        if reply_ids:
            self._wake_sender(row.conversation_id)
        for message_id in reply_ids:
            await self._events.message_changed(message_id, row.conversation_id)


def _turn_write(
    row: Row[Any], ctx: TurnContext, status: str, identities: list[Any], now: datetime
) -> turn_state.TurnWrite:
    """The rows a turn writes: its replies (message, outbox address and body) and dialog."""
    memory = dict(ctx.memory)
    memory["dialog"] = ctx.dialog.to_dict()
    memory["lang"] = ctx.language
    offered: list[dict[str, str]] = []
    replies = []
    for reply in ctx.replies:
        address = reply.address or _reply_address(row, reply.channel, identities)
        body = {**reply.outbound.to_dict(), "sender": Sender.BOT.value, "language": ctx.language}
        offered = body["buttons"] or offered
        address_dict = address.to_dict()
        values = {
            "conversation_id": row.conversation_id,
            "customer_id": row.customer_id,
            "direction": "out",
            "channel": address.channel,
            "provider": address.provider,
            "sender": Sender.BOT.value,
            "kind": Kind.TEXT.value,
            "text": reply.outbound.text,
            "payload": {"buttons": body["buttons"]},
            "media": body["media"],
            "address": address_dict,
            "delivery_status": Delivery.PENDING.value,
            "created_at": now,
        }
        replies.append((values, address_dict, body))
    if ctx.replies:
        memory["buttons"] = offered
    return turn_state.TurnWrite(row.id, row.conversation_id, status, replies, memory, now)


def _inbound_from_row(row: Row[Any]) -> Inbound:
    payload = dict(row.payload or {})
    button_payload = str(payload.pop("payload", "") or "")
    assert row.address is not None
    return Inbound(
        id=row.id,
        provider_id=row.provider_message_id or "",
        address=Address.from_dict(row.address),
        kind=row.kind,
        text=row.text,
        payload=button_payload,
        media=[Media.from_dict(m) for m in row.media or []],
        timestamp=row.created_at,
        extra=payload,
    )


def _map_numbered_answer(inbound: Inbound, memory: dict[str, Any]) -> None:
    """Map answers to the buttons we offered back to their payloads: "2" on channels where
    buttons were numbered text, a digest where the payload was too long for the channel."""
    offered = memory.get("buttons") or []
    if inbound.extra.get("payload_digest"):
        for button in offered:
            if payload_digest(button["payload"]) == inbound.payload:
                inbound.payload = button["payload"]
                return
    numbered_channel = inbound.channel == "sms" or inbound.address.provider == "twilio"
    if inbound.payload or not offered or not numbered_channel:
        return
    text = inbound.text.strip().rstrip(").")
    if text.isdigit() and 1 <= int(text) <= len(offered):
        chosen = offered[int(text) - 1]
        inbound.kind = Kind.BUTTON
        inbound.payload = chosen["payload"]
        inbound.extra["numbered_answer"] = text


_NOT_LANGUAGE = re.compile(r"/\w+|\bOG[A-Z0-9]{8}\b|\d+")


def _language(inbound: Inbound, current: str) -> str:
    """The customer's language: their words if they say something, else what we knew."""
    words = _NOT_LANGUAGE.sub(" ", inbound.text)
    if any(ch.isalpha() for ch in words):  # "12345" or "/start CODE" says nothing
        return detect_language(words)
    hint = str(inbound.extra.get("language_code") or "")[:2]
    return hint if hint in ("tr", "en") and not current else current


def _reply_address(row: Row[Any], channel: str | None, identities: list[Any]) -> Address:
    """The channel the customer last wrote on, unless the handler asked for another."""
    assert row.address is not None
    if channel and channel != row.channel:
        for identity in identities:
            if identity.channel == channel and identity.address and not identity.unreachable:
                return Address.from_dict(identity.address)
    return Address.from_dict(row.address)
