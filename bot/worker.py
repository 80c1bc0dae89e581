"""One worker of `omnigate serve --workers N` (started by the supervisor in bot/workers.py).

The ordinary app, bound with SO_REUSEPORT next to its siblings. Settings come from the
environment the supervisor built. A worker whose supervisor disappears (SIGKILL, OOM) stops
gracefully by itself instead of serving on as an orphan nobody will stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from bot import logs
from bot.event_loop import new_event_loop
from bot.settings import Settings

log = logging.getLogger("omnigate.worker")

PARENT_CHECK = 1.0  # seconds between looks at the supervisor


async def _watch_parent(parent: int) -> None:
    while True:
        await asyncio.sleep(PARENT_CHECK)
        if os.getppid() != parent:
            log.warning("supervisor (pid %d) is gone; stopping", parent)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def run_worker(index: int) -> int:
    from bot.app import create_app
    from bot.heap import freeze_startup_heap

    settings = Settings.from_env()
    logs.setup(settings.log_level, settings.log_format)
    app = create_app(settings)
    parent = os.getppid()
    watcher: list[asyncio.Task[None]] = []

    async def ready(_app: web.Application) -> None:
        # Runs after the runtime started; the port is bound right after the startup hooks.
        watcher.append(asyncio.create_task(_watch_parent(parent)))
        log.info("worker %d (pid %d) ready", index, os.getpid())

    async def stopped(_app: web.Application) -> None:
        for task in watcher:
            task.cancel()

    app.on_startup.append(freeze_startup_heap)
    app.on_startup.append(ready)
    app.on_cleanup.append(stopped)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=True,
        print=None,
        shutdown_timeout=settings.shutdown_grace,
        loop=new_event_loop(settings.event_loop),  # the supervisor checked the choice
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_worker(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
