"""Group commit: many callers' writes in one transaction.

Each webhook still gets its answer only after its own data is committed (persist before
acknowledging), but a hundred concurrent webhooks share one commit instead of paying for a
hundred. When a batch fails, its items are retried one by one, so one bad item fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("omnigate.group_commit")

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        apply: Callable[[AsyncSession, T], Awaitable[R]],
        *,
        writers: int = 1,
        max_batch: int = 256,
    ) -> None:
        self._sessions = sessions
        self._apply = apply
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

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            async with self._sessions() as session, session.begin():
                results = [await self._apply(session, item) for item, _ in batch]
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


def _settle(
    future: asyncio.Future[R], *, result: R | None = None, error: BaseException | None = None
) -> None:
    if future.done():  # the caller went away (client disconnected); the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
