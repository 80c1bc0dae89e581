"""Redis calls made at the same moment, sent in one pipeline.

Every bot turn takes a conversation lock and releases it, and every stored message is
announced on two topics: round trips that cost a worker more CPU than the turn's own SQL.
Turns start and finish in crowds, so their calls are queued and sent together: one round trip
for all the calls of a moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

T = TypeVar("T")

# Sends a batch; one result per call, an exception instance for a call that failed alone.
SendBatch = Callable[[list[T]], Awaitable[list[Any]]]


class CallQueue(Generic[T]):
    """Calls queued while a batch is on the wire go out together in the next one."""

    def __init__(self, send: SendBatch[T]) -> None:
        self._send = send
        self._queue: list[tuple[T, asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def call(self, item: T) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_queued())
        return await future

    async def flush(self, timeout: float) -> None:
        """Wait (up to `timeout` s) for what is queued to be sent."""
        if self._sender is not None and not self._sender.done():
            await asyncio.wait([self._sender], timeout=timeout)

    async def _send_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._send([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


ScriptCall = tuple[AsyncScript, list[str], list[Any]]


async def run_scripts(client: Redis, batch: list[ScriptCall]) -> list[Any]:
    """Script calls in one pipeline (a lone one as itself: one round trip either way)."""
    if len(batch) == 1:
        script, keys, args = batch[0]
        return [await script(keys, args)]
    async with client.pipeline(transaction=False) as pipe:
        for script, keys, args in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        results = await pipe.execute(raise_on_error=False)
    # Redis forgot the scripts (a restart, SCRIPT FLUSH): the script call loads them.
    for i, result in enumerate(results):
        if isinstance(result, NoScriptError):
            script, keys, args = batch[i]
            results[i] = await script(keys, args)
    return list(results)
