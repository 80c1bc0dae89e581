"""The outbox sender: leases due rows, renders them for their channel, paces, sends, retries.

Rows of one conversation go out in order (only the head of each conversation's queue is
leased); different conversations go out in parallel. A sender that dies mid-send leaves its
lease to expire and another sender takes the row: a send may be repeated, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import ChannelAdapter, SendError, SendResult
from bot.delivery_rules import (
    PROVIDER_SAID_CLOSED,
    Plan,
    Recipient,
    needs_planning,
    plan_delivery,
    quick_plan,
    recipients,
    template_sent_since,
)
from bot.delivery_status import apply_parked_many, prune_parked
from bot.events import EventBus
from bot.group_commit import GroupCommitter
from bot.metrics import Metrics
from bot.model import DELIVERY_RANK, Address, Delivery, Outbound, Sender, utcnow
from bot.settings import Settings
from storage import customers, messages, outbox
from storage.coordination import Coordination
from storage.outbox import LeasedRow
from storage.tables import IdentityRow, MessageRow, OutboxRow

log = logging.getLogger("omnigate.sender")

LEASE_SECONDS = 60.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
RECORD_RETRY = 0.5  # seconds between attempts to record a send the provider took
LOOK_AHEAD = 64  # due heads read beyond a round's free slots, taken in the next rounds
# Conversations remembered for the next round; beyond this, one scan of every queue is cheaper.
MAX_CANDIDATES = 1024


def backoff(attempt: int, retry_after: float | None = None, base: float = BACKOFF_BASE) -> float:
    """Exponential backoff with full jitter (attempt 1: up to `base` seconds, then doubling);
    a provider's Retry-After wins when longer."""
    delay = random.uniform(0, min(BACKOFF_CAP, base * 2 ** max(0, attempt - 1)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class OutboxSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        coordination: Coordination,
        adapters: dict[str, ChannelAdapter],
        events: EventBus,
        metrics: Metrics,
        settings: Settings,
        *,
        max_attempts: int = 10,
        poll_interval: float = 1.0,
        concurrency: int = 64,
        lease: float = LEASE_SECONDS,
        round_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        # A lease round's statements each stand alone (the lease re-checks its rows): on
        # PostgreSQL they need no transaction, and skip BEGIN and COMMIT (see storage.database).
        self._round_sessions = round_sessions or sessions
        self._coordination = coordination
        self._adapters = adapters
        self._settings = settings
        self._events = events
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._poll_interval = poll_interval
        self._lease = lease
        self._capacity = concurrency
        self._inflight: set[asyncio.Task[None]] = set()
        # Sends that finish together are recorded in one transaction (group commit).
        self._recorder: GroupCommitter[_Sent, bool] = GroupCommitter(
            sessions, apply_batch=_record_sends
        )
        # Names the process holding a lease (outbox.lease_owner): host, pid, then a nonce.
        self._owner = f"sender-{socket.gethostname()[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._candidates: set[int] = set()  # conversations whose queues may have a due head
        self._scan_now = True  # read every queue in the next round
        self._scan_when_drained = False  # ... or once the remembered candidates are taken
        self._next_scan = 0.0  # loop time of the next round that reads every queue
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self, conversation_id: int | None = None) -> None:
        """Rows may be due: in `conversation_id`'s queue, or anywhere (None)."""
        if conversation_id is None or len(self._candidates) >= MAX_CANDIDATES:
            self._scan_now = True
            self._candidates.clear()
        else:
            self._candidates.add(conversation_id)
        self._wake.set()

    async def start(self) -> None:
        self._recorder.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self, grace: float) -> None:
        """Flush what can be sent within `grace` seconds, then stop."""
        self._stopping = True
        self.wake()
        if self._task:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                log.warning("outbox not flushed within %.1fs; rows stay for the next start", grace)
                return  # sends still in flight may yet record theirs: the recorder stays
        await self._recorder.stop()

    async def _run(self) -> None:
        """Keep up to `concurrency` sends in flight; lease more as soon as one finishes.

        A slow provider holds only its own conversation's queue, never the others.
        """
        loop = asyncio.get_running_loop()
        next_prune = 0.0
        while True:
            if loop.time() >= next_prune:
                next_prune = loop.time() + 600
                await self._prune()
            self._wake.clear()  # before leasing: a wake during the round is not lost
            if self._stopping:
                self._scan_now = True  # flushing: stop only when no queue has a due head
            free = self._capacity - len(self._inflight)
            try:
                leased = await self.lease_and_send(free)
            except Exception:
                log.exception("outbox round failed")
                leased = 0
            if self._stopping and leased == 0 and not self._inflight:
                return
            if leased == 0 and free > 0 and self._scan_when_drained and not self._candidates:
                # The remembered heads are gone and more were due when they were read: scan
                # now. Waiting would idle until the next poll, or until a send in flight
                # finishes, when the queues just woken for had nothing more to send.
                continue
            if leased == 0 or leased == free:
                # Full: a finishing send wakes the loop. Otherwise the next scan is the limit.
                timeout = self._poll_interval if leased == free else self._next_scan - loop.time()
                try:
                    await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))
                except TimeoutError:
                    pass

    async def lease_and_send(self, limit: int) -> int:
        """Lease up to `limit` due heads of queues and start sending them. Returns how many.

        A round reads the queues of the conversations it was woken for (a turn wrote replies,
        a send finished): a few index seeks. Every `poll_interval`, and when woken for no
        conversation in particular, it scans every queue instead, which finds retries come due,
        expired leases of dead senders and rows other workers wrote. Due heads that do not fit
        within `limit` are remembered (up to LOOK_AHEAD of them), so the next rounds take them
        oldest first; when even more were due, a scan follows once those are taken.
        """
        if limit <= 0:
            return 0
        loop_time = asyncio.get_running_loop().time()
        drained = self._scan_when_drained and not self._candidates
        if self._scan_now or drained or loop_time >= self._next_scan:
            self._scan_now = self._scan_when_drained = False
            self._next_scan = loop_time + self._poll_interval
            candidates = None
        elif self._candidates:
            candidates, self._candidates = self._candidates, set()
        else:
            return 0
        now = utcnow()
        try:
            async with self._round_sessions() as session, session.begin():
                heads, rows = await outbox.lease_heads(
                    session,
                    now,
                    self._owner,
                    self._lease,
                    take=limit,
                    read=limit + LOOK_AHEAD,
                    conversations=candidates,
                )
                # What the channel rules read, for all these rows at once.
                found = await recipients(session, {r.message_id: a for r, a in self._to_plan(rows)})
        except Exception:
            if candidates is None:
                self._scan_now = True
            else:
                self._candidates |= candidates  # asked again in the next round
            raise
        self._candidates.update(head.conversation_id for head in heads[limit:])
        if len(heads) == limit + LOOK_AHEAD:
            self._scan_when_drained = True  # more are due than were read: scan once these go
        for row in rows:
            task = asyncio.create_task(self._send_row(row, found.get(row.message_id)))
            self._inflight.add(task)
            task.add_done_callback(partial(self._sent, row.conversation_id))
        return len(rows)

    def _to_plan(self, rows: list[LeasedRow]) -> list[tuple[LeasedRow, Address]]:
        """The rows that have channel rules to apply before their send (see `_plan`)."""
        planned: list[tuple[LeasedRow, Address]] = []
        for row in rows:
            try:
                address = Address.from_dict(row.address)
                adapter = self._adapters.get(address.provider)
                if adapter is not None and adapter.configured:
                    capabilities = adapter.capabilities(address.channel)
                    if needs_planning(address, capabilities) or row.last_error:
                        planned.append((row, address))
            except Exception:  # a bad row fails in its own send task, not the whole round
                log.exception("cannot plan outbox row %d", row.id)
        return planned

    def _sent(self, conversation_id: int, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("send task failed", exc_info=task.exception())
        self.wake(conversation_id)  # the conversation's next row may now be leased

    async def _prune(self) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await prune_parked(session, utcnow())
        except Exception:
            log.exception("pruning parked statuses failed")

    async def _send_row(self, row: LeasedRow, recipient: Recipient | None = None) -> None:
        address = Address.from_dict(row.address)
        outbound = Outbound.from_dict(row.body)
        outbound.meta = {
            "message_id": row.message_id,
            "sender": row.body.get("sender", "bot"),
            "created_at": row.created_at.isoformat(),
            "language": row.body.get("language", "tr"),
        }
        plan = await self._plan(row, address, outbound, recipient)
        if plan is None:
            return
        address = plan.address
        adapter = self._adapters[address.provider]
        capabilities = adapter.capabilities(address.channel)
        parts = adapter.render(outbound, address.channel)
        done = int(row.body.get("_parts_sent", 0))
        result: SendResult | None = None
        extra_ids: list[str] = list(row.body.get("_part_ids", []))
        try:
            for index, part in enumerate(parts):
                if index < done:
                    continue  # sent before a crash or a failed later part
                await self._pace(address, capabilities.send_rate, capabilities.per_chat_rate)
                sent = await adapter.send(address, part)
                if index == 0:
                    result = sent
                else:
                    extra_ids.append(sent.provider_message_id)
                extra_ids.extend(sent.extra_ids)
                if len(parts) > 1 and index < len(parts) - 1:
                    await self._record_part(row, index + 1, result, extra_ids)
        except SendError as error:
            if error.window_closed:
                await self._window_closed_by_provider(row)
                return
            await self._handle_error(row, address, error)
            return
        except Exception as exc:  # an adapter bug must not kill the sender; retry later
            log.exception("adapter send crashed", extra={"conversation_id": row.conversation_id})
            await self._handle_error(row, address, SendError(repr(exc), retryable=True))
            return
        if result is None and row.body.get("_first_id"):
            result = SendResult(str(row.body["_first_id"]))
        await self._succeed(row, address, result, extra_ids)

    async def _plan(
        self, row: LeasedRow, address: Address, outbound: Outbound, recipient: Recipient | None
    ) -> Plan | None:
        """Apply the channel rules; None when the row was settled (held, failed) instead.

        `recipient` was read with the lease: usually it decides (send, or fail for an opt-out)
        without another transaction; a closed window is planned here, reading afresh.
        """
        adapter = self._adapters.get(address.provider)
        if adapter is None or not adapter.configured:
            await self._fail(
                row, address, "no_adapter", f"provider {address.provider!r} is not configured"
            )
            return None
        capabilities = adapter.capabilities(address.channel)
        if not needs_planning(address, capabilities) and not row.last_error:
            return Plan("send", address)  # web chat, Telegram: nothing to decide, no query
        now = utcnow()
        said_closed = row.last_error == PROVIDER_SAID_CLOSED
        plan = None
        if recipient is not None:
            plan = quick_plan(
                recipient, address, outbound, capabilities, now, provider_said_closed=said_closed
            )
        if plan is None:
            async with self._sessions() as session, session.begin():
                found = await recipients(session, {row.message_id: address})
                if row.message_id not in found:
                    await outbox.finish(session, row.id, "failed", "message gone (erased)")
                    return None
                plan = await plan_delivery(
                    session,
                    found[row.message_id],
                    address,
                    outbound,
                    capabilities,
                    self._settings,
                    now,
                    provider_said_closed=said_closed,
                )
                if plan.action in ("hold", "reroute"):
                    settled = await self._settle(session, row, address, plan)
                    if settled is None:
                        return None
                    plan = settled
        if plan.action == "fail":
            await self._fail(row, address, plan.code, plan.reason)
            return None
        if plan.action == "hold":
            await self._events.message_changed(row.message_id, row.conversation_id)
            self.wake()  # a re-engagement template may be waiting
            return None
        return plan

    async def _settle(
        self, session: AsyncSession, row: LeasedRow, address: Address, plan: Plan
    ) -> Plan | None:
        """Hold or reroute the row's message as planned (a reroute to a provider that is not
        configured holds instead): the plan carried out, None when the message is gone."""
        message = await session.get(MessageRow, row.message_id)
        if message is None:
            await outbox.finish(session, row.id, "failed", "message gone (erased)")
            return None
        if plan.action == "reroute":
            new_adapter = self._adapters.get(plan.address.provider)
            if new_adapter is not None and new_adapter.configured:
                await self._reroute(session, row, message, plan)
                return plan
            plan = Plan("hold", address, plan.code, plan.reason)
        await self._hold(session, row, message, plan)
        return plan

    async def _hold(
        self, session: AsyncSession, row: LeasedRow, message: MessageRow, plan: Plan
    ) -> None:
        log.info(
            "message held: %s",
            plan.reason,
            extra={"conversation_id": row.conversation_id, "channel": plan.address.channel},
        )
        message.delivery_status = Delivery.HELD
        message.error_code = plan.code
        message.error_message = plan.reason
        message.updated_at = utcnow()
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row.id)
            .values(status="held", lease_owner=None, lease_until=None, last_error=plan.code)
        )
        if plan.template is None:
            return
        identity = await customers.find_identity(
            session, plan.address.channel, plan.address.chat_id
        )
        since = identity.last_inbound_at if identity else None
        if await template_sent_since(session, message.customer_id, plan.address.channel, since):
            return
        now = utcnow()
        template_message = await messages.insert_outbound(
            session,
            {
                "conversation_id": message.conversation_id,
                "customer_id": message.customer_id,
                "direction": "out",
                "channel": plan.address.channel,
                "provider": plan.address.provider,
                "sender": Sender.SYSTEM,
                "kind": "template",
                "text": f"[template {plan.template.name}]",
                "payload": {"template": plan.template.to_dict()},
                "address": plan.address.to_dict(),
                "delivery_status": Delivery.PENDING,
                "created_at": now,
            },
        )
        body = {**Outbound(template=plan.template, intent="reengage").to_dict(), "sender": "system"}
        session.add(
            outbox.new_row(
                template_message.id, message.conversation_id, plan.address.to_dict(), body, now
            )
        )

    async def _reroute(
        self, session: AsyncSession, row: LeasedRow, message: MessageRow, plan: Plan
    ) -> None:
        log.info(
            "message rerouted: %s", plan.reason, extra={"conversation_id": row.conversation_id}
        )
        message.channel = plan.address.channel
        message.provider = plan.address.provider
        message.address = plan.address.to_dict()
        message.payload = {**(message.payload or {}), "rerouted": plan.reason}
        await session.execute(
            update(OutboxRow).where(OutboxRow.id == row.id).values(address=plan.address.to_dict())
        )

    async def _window_closed_by_provider(self, row: LeasedRow) -> None:
        """The provider refused free text outside the window: plan again as closed."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id)
                .values(lease_owner=None, lease_until=None, last_error=PROVIDER_SAID_CLOSED)
            )
        self.wake()

    async def _record_part(
        self, row: LeasedRow, parts_sent: int, first: SendResult | None, ids: list[str]
    ) -> None:
        """Remember the parts already sent, so a retry sends only the rest."""
        body = {**row.body, "_parts_sent": parts_sent, "_part_ids": ids}
        if first is not None:
            body["_first_id"] = first.provider_message_id
        row.body = body
        async with self._sessions() as session, session.begin():
            await session.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(body=body))

    async def _pace(self, address: Address, rate: float, per_chat: float) -> None:
        waits = [
            await self._coordination.reserve(f"pace:{address.provider}:{address.account}", rate)
        ]
        if per_chat > 0:
            waits.append(
                await self._coordination.reserve(
                    f"pace:{address.provider}:{address.account}:{address.chat_id}", per_chat
                )
            )
        delay = max(waits)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _succeed(
        self, row: LeasedRow, address: Address, result: SendResult | None, extra: list[str]
    ) -> None:
        status = result.status if result else Delivery.SENT
        provider_id = result.provider_message_id if result else None
        sent = _Sent(
            row_id=row.id,
            message_id=row.message_id,
            channel=address.channel,
            provider_id=provider_id,
            status=status,
            segments=int(result.meta["segments"]) if result and "segments" in result.meta else None,
            extra=extra,
            # Providers call back with statuses, possibly before this answer: apply parked ones.
            callbacks=bool(provider_id) and address.provider != "webchat",
            now=utcnow(),
        )
        # The provider has the message now: if this record is lost, the row is sent again once
        # its lease runs out. So a database blip is waited out (within the lease) rather than
        # turned into a duplicate for the customer. Each attempt shares a commit with the other
        # sends finishing then (a failed batch is retried item by item by the committer).
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._lease
        while True:
            try:
                reopened = await self._recorder.submit(sent)
                break
            except Exception as exc:
                if loop.time() + RECORD_RETRY > give_up:
                    raise
                log.warning(
                    "sent, not recorded yet (retrying): %s",
                    exc,
                    extra={"conversation_id": row.conversation_id},
                )
                await asyncio.sleep(RECORD_RETRY)
        if reopened:
            self.wake()
        self._metrics.messages_out.labels(address.channel).inc()
        await self._events.message_changed(row.message_id, row.conversation_id)

    async def _handle_error(self, row: LeasedRow, address: Address, error: SendError) -> None:
        attempt = row.attempts + 1
        if error.retryable and attempt < self._max_attempts:
            delay = backoff(attempt, error.retry_after, self._settings.outbox_backoff_base)
            log.warning(
                "send failed, retrying in %.1fs: %s",
                delay,
                error.reason,
                extra={"conversation_id": row.conversation_id, "channel": address.channel},
            )
            self._metrics.send_retries.labels(address.channel).inc()
            async with self._sessions() as session, session.begin():
                await outbox.retry_later(
                    session, row.id, utcnow() + timedelta(seconds=delay), error.reason
                )
            return
        code = error.code or ("retries_exhausted" if error.retryable else "rejected")
        await self._fail(row, address, code, error.reason, unreachable=error.unreachable)

    async def _fail(
        self, row: LeasedRow, address: Address, code: str, reason: str, *, unreachable: bool = False
    ) -> None:
        log.error(
            "send failed for good (%s): %s",
            code,
            reason,
            extra={"conversation_id": row.conversation_id, "channel": address.channel},
        )
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(MessageRow)
                .where(MessageRow.id == row.message_id)
                .values(
                    delivery_status=Delivery.FAILED,
                    error_code=code,
                    error_message=reason,
                    updated_at=utcnow(),
                )
            )
            if unreachable:
                await session.execute(
                    update(IdentityRow)
                    .where(
                        IdentityRow.channel == address.channel,
                        IdentityRow.external_id == address.chat_id,
                    )
                    .values(unreachable=True)
                )
            await outbox.finish(session, row.id, "failed", f"{code}: {reason}")
        self._metrics.delivery_failures.labels(address.channel, code).inc()
        await self._events.message_changed(row.message_id, row.conversation_id)


# --- Recording sends (many concurrent sends share one transaction, see `_recorder`) --------

_RECORD_SENT = messages.sent_statement(DELIVERY_RANK)


@dataclass(slots=True)
class _Sent:
    """A send the provider took, to record."""

    row_id: int
    message_id: int
    channel: str
    provider_id: str | None
    status: str
    segments: int | None
    extra: list[str]  # provider ids of the further parts
    callbacks: bool  # the provider posts status callbacks for it
    now: datetime


async def _record_sends(session: AsyncSession, sends: list[_Sent]) -> list[bool]:
    """Record sends: the message's provider id, segments and status (never backwards), the
    outbox row done, then statuses parked for those ids. Per send: True when a parked status
    reopened its row (plan it again)."""
    await session.execute(
        _RECORD_SENT,
        [
            {
                "mid": s.message_id,
                "provider_id": s.provider_id,
                "now": s.now,
                "segments": s.segments,
                "new_status": s.status,
                "new_rank": DELIVERY_RANK.get(s.status, 0),
            }
            for s in sends
        ],
    )
    split = [s for s in sends if s.extra]
    if split:
        stored = await messages.payloads(session, [s.message_id for s in split])
        await messages.set_payloads(
            session,
            {
                s.message_id: {**stored[s.message_id], "provider_ids": s.extra}
                for s in split
                if s.message_id in stored
            },
        )
    await outbox.finish_many(session, [s.row_id for s in sends], "sent")
    called_back = {
        s.row_id: (s.channel, s.provider_id) for s in sends if s.callbacks and s.provider_id
    }
    applied = await apply_parked_many(session, list(called_back.values()), utcnow())
    reopened = {
        row_id
        for row_id, key in called_back.items()
        if (result := applied.get(key)) is not None and result.reopened
    }
    return [s.row_id in reopened for s in sends]
