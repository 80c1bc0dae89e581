"""The outbox sender: leases due rows, renders them for their channel, paces, sends, retries.

Rows of one conversation go out in order (only the head of each conversation's queue is
leased); different conversations go out in parallel. A sender that dies mid-send leaves its
lease to expire and another sender takes the row: a send may be repeated, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import ChannelAdapter, SendError, SendResult
from bot.events import EventBus
from bot.metrics import Metrics
from bot.model import Address, Delivery, Outbound, utcnow
from storage import outbox
from storage.coordination import Coordination
from storage.tables import IdentityRow, MessageRow, OutboxRow

log = logging.getLogger("omnigate.sender")

LEASE_SECONDS = 60.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After wins when longer."""
    delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
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
        *,
        max_attempts: int = 10,
        poll_interval: float = 1.0,
        concurrency: int = 64,
    ) -> None:
        self._sessions = sessions
        self._coordination = coordination
        self._adapters = adapters
        self._events = events
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._poll_interval = poll_interval
        self._slots = asyncio.Semaphore(concurrency)
        self._owner = f"sender-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self, grace: float) -> None:
        """Flush what can be sent within `grace` seconds, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                log.warning("outbox not flushed within %.1fs; rows stay for the next start", grace)

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("outbox round failed")
                sent = 0
            if self._stopping and sent == 0:
                return
            if sent == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                except TimeoutError:
                    pass

    async def send_due(self, limit: int = 200) -> int:
        """One round: lease the due heads of queues and send them. Returns rows handled."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            rows = await outbox.lease_due(session, self._owner, now, LEASE_SECONDS, limit)
        if rows:
            await asyncio.gather(*(self._send_row(row) for row in rows))
        return len(rows)

    async def _send_row(self, row: OutboxRow) -> None:
        async with self._slots:
            address = Address.from_dict(row.address)
            adapter = self._adapters.get(address.provider)
            if adapter is None or not adapter.configured:
                await self._fail(
                    row, address, "no_adapter", f"provider {address.provider!r} is not configured"
                )
                return
            capabilities = adapter.capabilities(address.channel)
            try:
                result: SendResult | None = None
                extra_ids: list[str] = []
                outbound = Outbound.from_dict(row.body)
                outbound.meta = {
                    "message_id": row.message_id,
                    "sender": row.body.get("sender", "bot"),
                    "created_at": row.created_at.isoformat(),
                }
                for part in adapter.render(outbound, address.channel):
                    await self._pace(address, capabilities.send_rate, capabilities.per_chat_rate)
                    sent = await adapter.send(address, part)
                    if result is None:
                        result = sent
                    else:
                        extra_ids.append(sent.provider_message_id)
                    extra_ids.extend(sent.extra_ids)
            except SendError as error:
                await self._handle_error(row, address, error)
                return
            except Exception as exc:  # an adapter bug must not kill the sender; retry later
                log.exception(
                    "adapter send crashed", extra={"conversation_id": row.conversation_id}
                )
                await self._handle_error(row, address, SendError(repr(exc), retryable=True))
                return
            await self._succeed(row, address, result, extra_ids)

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
        self, row: OutboxRow, address: Address, result: SendResult | None, extra: list[str]
    ) -> None:
        values: dict[str, Any] = {
            "delivery_status": result.status if result else Delivery.SENT,
            "provider_message_id": result.provider_message_id if result else None,
            "updated_at": utcnow(),
        }
        if result and "segments" in result.meta:
            values["segments"] = int(result.meta["segments"])
        async with self._sessions() as session, session.begin():
            message = await session.get(MessageRow, row.message_id)
            if message is not None and extra:
                values["payload"] = {**(message.payload or {}), "provider_ids": extra}
            await session.execute(
                update(MessageRow).where(MessageRow.id == row.message_id).values(**values)
            )
            await outbox.finish(session, row.id, "sent")
        self._metrics.messages_out.labels(address.channel).inc()
        await self._events.message_changed(row.message_id, row.conversation_id)

    async def _handle_error(self, row: OutboxRow, address: Address, error: SendError) -> None:
        attempt = row.attempts + 1
        if error.retryable and attempt < self._max_attempts:
            delay = backoff(attempt, error.retry_after)
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
        self, row: OutboxRow, address: Address, code: str, reason: str, *, unreachable: bool = False
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
