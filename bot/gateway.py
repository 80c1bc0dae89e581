"""Ingest: dedupe, attach to one customer and thread, persist, then let the provider go.

No bot work happens here: the turn runs after the commit, so a provider's request returns in
milliseconds, and what was acknowledged is already on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery_rules import WINDOW_CHANNELS
from bot.delivery_status import record_status
from bot.events import EventBus
from bot.group_commit import GroupCommitter
from bot.identity import IdentityResolver
from bot.metrics import Metrics
from bot.model import (
    Event,
    Inbound,
    Kind,
    Sender,
    StatusUpdate,
    utcnow,
)
from storage import conversations, messages, outbox
from storage.conversations import OpenThread

log = logging.getLogger("omnigate.gateway")


class Unavailable(Exception):
    """The gateway cannot take the message now (shutting down, database down): answer 503."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    kind: str  # message | status
    message_id: int | None = None
    conversation_id: int | None = None
    customer_id: int | None = None
    duplicate: bool = False
    # Outbox rows became due (held messages released, a send reopened): wake the sender once
    # the transaction is committed, or its round could run before and not see them.
    outbox_changed: bool = False


class Gateway:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        events: EventBus,
        metrics: Metrics,
        schedule_turns: Callable[[int], None],
        wake_sender: Callable[[], None],
        identities: IdentityResolver,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._metrics = metrics
        self._schedule = schedule_turns
        self._wake_sender = wake_sender
        self._identities = identities
        self.accepting = True

    def start(self, writers: int = 1) -> None:
        self._committer = GroupCommitter(
            self._sessions, apply_batch=self._store_batch, writers=writers
        )
        self._committer.start()

    async def stop(self) -> None:
        self.accepting = False
        await self._committer.stop()

    async def ingest(self, events: list[Event]) -> list[IngestResult]:
        """Persist every event of one provider request; returns once they are committed.

        Concurrent requests share a transaction (group commit); a request's events are
        never split across two.
        """
        if not self.accepting:
            raise Unavailable("shutting down")
        try:
            results = await self._committer.submit(events)
        except Unavailable:
            raise
        except Exception as exc:  # the database is the source of truth: no commit, no ack
            log.exception("ingest failed")
            raise Unavailable(f"storage error: {type(exc).__name__}") from exc
        await self._after_commit(events, results)
        return results

    async def _store_batch(
        self, session: AsyncSession, requests: list[list[Event]]
    ) -> list[list[IngestResult]]:
        """Store many requests' events in one transaction, taking row locks in one order.

        Several worker processes (and OMNIGATE_DB_WRITERS writers in each) run these
        transactions at once over the same customers. Locking each message's identity and
        conversation rows in arrival order, one transaction would lock customer A then B
        while another locks B then A: a deadlock, the batch fails and is retried item by
        item. So every transaction goes:

        1. senders resolved in (channel, sender id) order, each identity row locked in that
           order: runs of known senders writing plainly touched in one UPDATE each, new
           senders and those with a link code or a shared contact one at a time (identity
           rows and customers inserted, merges);
        2. open conversations found or started in customer id order;
        3. messages inserted in arrival order, in one multi-row INSERT (message ids order a
           conversation's turns, and one conversation may have messages from several
           channels), the conversation rows changed in memory only;
        4. the changed conversation rows written in one UPDATE (in primary key order);
        5. delivery statuses applied in (channel, provider message id) order.

        Sorts are stable: events with one key keep their arrival order.
        """
        now = utcnow()
        events = [event for request in requests for event in request]
        inbound = [(n, e) for n, e in enumerate(events) if isinstance(e, Inbound)]
        statuses = [(n, e) for n, e in enumerate(events) if isinstance(e, StatusUpdate)]
        by_sender = sorted(inbound, key=lambda item: self._identities.sender_key(item[1]))
        identities = await self._identities.resolve_senders(
            session, [event for _, event in by_sender], now
        )
        senders = {n: identity for (n, _), identity in zip(by_sender, identities, strict=True)}
        # After every sender is resolved: a link code or shared contact may have merged them.
        threads = await conversations.open_threads(
            session, sorted({identity.customer_id for identity in senders.values()}), now
        )
        results: dict[int, IngestResult] = {}
        thread_of = [threads[senders[n].customer_id] for n, _ in inbound]
        stored = await messages.insert_inbound_many(
            session,
            [
                _inbound_row(event, thread, now)
                for (_, event), thread in zip(inbound, thread_of, strict=True)
            ],
        )
        for (n, event), thread, (message_id, duplicate) in zip(
            inbound, thread_of, stored, strict=True
        ):
            results[n] = await self._stored(session, event, thread, message_id, duplicate, now)
        await conversations.write_touched(session, threads.values())
        await session.flush()  # whatever resolving new senders left pending
        statuses.sort(key=lambda item: (item[1].channel, item[1].provider_message_id))
        for n, event in statuses:
            results[n] = await self._store_status(session, event)
        in_order = iter([results[n] for n in range(len(events))])
        return [[next(in_order) for _ in request] for request in requests]

    async def _stored(
        self,
        session: AsyncSession,
        event: Inbound,
        conversation: OpenThread,
        message_id: int,
        duplicate: bool,
        now: datetime,
    ) -> IngestResult:
        """What follows a message's insert: its thread touched, messages held for the
        customer's reply window released."""
        customer_id = conversation.customer_id
        released = False
        if not duplicate:
            conversation.touch_inbound(event.channel, now)
            # Only a channel with a reply window holds messages (see bot/delivery_rules.py).
            if event.channel in WINDOW_CHANNELS:
                released = bool(await outbox.release_held(session, customer_id, event.channel, now))
        event.id = message_id
        return IngestResult(
            "message",
            message_id,
            conversation.id,
            customer_id,
            duplicate=duplicate,
            outbox_changed=released,
        )

    async def _store_status(self, session: AsyncSession, event: StatusUpdate) -> IngestResult:
        result = await record_status(
            session,
            event.channel,
            event.provider_message_id,
            event.status,
            error_code=event.error_code,
            error_message=event.error_message,
            now=utcnow(),
        )
        return IngestResult(
            "status",
            result.message_id,
            duplicate=result.message_id is None,
            outbox_changed=result.reopened,
        )

    async def _after_commit(self, events: list[Event], results: list[IngestResult]) -> None:
        if any(result.outbox_changed for result in results):
            self._wake_sender()
        for event, result in zip(events, results, strict=True):
            if result.kind == "status":
                if result.message_id is not None:
                    await self._events.message_changed(result.message_id)
                continue
            assert isinstance(event, Inbound) and result.conversation_id is not None
            if result.duplicate:
                self._metrics.duplicates.labels(event.channel).inc()
                log.info(
                    "duplicate delivery ignored",
                    extra={"conversation_id": result.conversation_id, "channel": event.channel},
                )
                continue
            self._metrics.messages_in.labels(event.channel).inc()
            self._schedule(result.conversation_id)
            await self._events.message_changed(result.message_id or 0, result.conversation_id)


def _inbound_row(event: Inbound, conversation: OpenThread, now: datetime) -> dict[str, Any]:
    payload: dict[str, object] = dict(event.extra)
    if event.payload:
        payload["payload"] = event.payload
    return {
        "conversation_id": conversation.id,
        "customer_id": conversation.customer_id,
        "direction": "in",
        "channel": event.channel,
        "provider": event.address.provider,
        "sender": Sender.CUSTOMER,
        "kind": event.kind,
        "text": event.text,
        "payload": payload,
        "media": [m.to_dict() for m in event.media],
        "address": event.address.to_dict(),
        "provider_message_id": event.provider_id,
        "delivery_status": "",
        "error_code": "",
        "error_message": "",
        "note": False,
        # An edit is recorded, not answered.
        "turn_status": "skipped" if event.kind == Kind.EDIT else "pending",
        "raw": event.raw,
        "created_at": now,
    }
