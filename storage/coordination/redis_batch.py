"""Script calls made at the same moment, sent to Redis in one pipeline.

Every bot turn takes a conversation lock and releases it: two round trips per message, each
a socket write and read that cost a worker more CPU than the turn's own SQL. Turns start
and finish in crowds, so their lock calls are queued and sent together: one round trip for
all the calls of a moment, as publishes already are.

Only idempotent scripts go through here (lock, extend, unlock): a batch whose connection
failed is sent again whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Run = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
_Call = tuple[AsyncScript, list[str], list[Any], asyncio.Future[Any]]


class ScriptBatcher:
    def __init__(self, client: Redis, run: Run) -> None:
        self._client = client
        self._run = run  # the coordination's retry and error translation
        self._queue: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((script, keys, args, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_queued())
        return await future

    async def _send_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await self._run("scripts", lambda batch=batch: self._execute(batch))
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        if len(batch) == 1:  # alone: the script call itself is the one round trip
            script, keys, args, _ = batch[0]
            return [await script(keys, args)]
        async with self._client.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        # Redis forgot the scripts (a restart, SCRIPT FLUSH): the script call loads them.
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):
                script, keys, args, _ = batch[i]
                results[i] = await script(keys, args)
        return list(results)
