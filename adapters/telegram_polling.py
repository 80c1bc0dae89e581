"""Long polling with getUpdates, for a developer without a public URL.

We drive `Bot.get_updates` directly instead of aiogram's Dispatcher: the gateway owns routing,
and we must not confirm an update (advance the offset) before the gateway has stored it. If
handing a batch over fails, the offset stays put and the same batch is fetched again after a
backoff; the gateway dedupes on update_id, so a half-stored batch is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

log = logging.getLogger(__name__)

UpdateHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        handle: UpdateHandler,
        *,
        allowed_updates: list[str],
        timeout: int = 25,
        request_timeout: float = 30.0,
        backoff: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._allowed = allowed_updates
        self._timeout = timeout
        # The HTTP request must outlive the server-side long poll.
        self._request_timeout = math.ceil(request_timeout + timeout)
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None
        self.offset: int | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def _delay(self, failures: int) -> float:
        base, cap = self._backoff
        # Full jitter keeps several laptops (or workers) from retrying in step.
        return min(cap, base * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)

    async def _run(self) -> None:
        webhook_deleted = False
        failures = 0
        while True:
            try:
                if not webhook_deleted:
                    # getUpdates answers 409 while a webhook is set (aiogram's polling does this).
                    await self._bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                await self._poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if isinstance(exc, TelegramConflictError):
                    webhook_deleted = False  # someone set a webhook again, or another poller
                delay = self._delay(failures)
                log.warning(
                    "telegram polling: %s: %s; retrying in %.1fs (offset %s kept)",
                    type(exc).__name__,
                    exc,
                    delay,
                    self.offset,
                )
                await asyncio.sleep(delay)

    async def _poll_once(self) -> None:
        updates = await self._bot.get_updates(
            offset=self.offset,
            timeout=self._timeout,
            allowed_updates=self._allowed,
            request_timeout=self._request_timeout,
        )
        if not updates:
            return
        # Back to the wire form, so webhook and polling share one parser and one `raw` shape.
        raw = [u.model_dump(mode="json", by_alias=True, exclude_none=True) for u in updates]
        await self._handle(raw)
        # Only now may Telegram forget them: the next call confirms everything below offset.
        self.offset = max(u.update_id for u in updates) + 1
