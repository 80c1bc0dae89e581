"""Group commit: many callers' writes in one transaction.

Each webhook still gets its answer only after its own data is committed (persist before
acknowledging), but a hundred concurrent webhooks share one commit instead of paying for a
hundred. When a batch fails, its items are retried one by one, so one bad item fails alone.
A batch that lost a lock conflict (PostgreSQL picked it as a deadlock victim) did nothing
wrong: it is tried again whole first.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("omnigate.group_commit")

T = TypeVar("T")
R = TypeVar("R")

# deadlock_detected, serialization_failure: the transaction can simply run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
CONFLICT_RETRIES = 2


class GroupCommitter(Generic[T, R]):
    """Writes submitted items in shared transactions.

    `apply` writes one item; or `apply_batch` writes a whole batch's items (in the order it
    chooses, e.g. to take row locks in one order in every transaction) and returns their
    results in the items' order.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        apply: Callable[[AsyncSession, T], Awaitable[R]] | None = None,
        *,
        apply_batch: Callable[[AsyncSession, list[T]], Awaitable[list[R]]] | None = None,
        writers: int = 1,
        max_batch: int = 256,
    ) -> None:
        if (apply is None) == (apply_batch is None):
            raise TypeError("pass one of apply and apply_batch")
        self._sessions = sessions
        self._apply = apply
        self._apply_batch = apply_batch or self._apply_each
        self._writers = writers
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_forever()) for _ in range(self._writers)]

    async def stop(self) -> None:
        """Finish what was submitted, then stop the writers."""
        await self._queue.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply_each(self, session: AsyncSession, items: list[T]) -> list[R]:
        assert self._apply is not None
        return [await self._apply(session, item) for item in items]

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("group commit of %d failed (%r); retrying one by one", len(batch), exc)
            for item, future in batch:
                await self._write([(item, future)])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def _commit(self, items: list[T]) -> list[R]:
        conflicts = 0
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    return await self._apply_batch(session, items)
            except DBAPIError as exc:
                conflicts += 1
                if not is_lock_conflict(exc) or conflicts > CONFLICT_RETRIES:
                    raise
                log.warning(
                    "group commit of %d lost a lock conflict (%s); trying it again",
                    len(items),
                    exc.orig,
                )
                # A random pause, so that the transactions that collided do not meet again.
                await asyncio.sleep(random.uniform(0.005, 0.05))


def is_lock_conflict(exc: DBAPIError) -> bool:
    """PostgreSQL aborted the transaction for a deadlock or a serialization failure."""
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _settle(
    future: asyncio.Future[R], *, result: R | None = None, error: BaseException | None = None
) -> None:
    if future.done():  # the caller went away (client disconnected); the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
