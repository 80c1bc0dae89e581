"""The event loop a gateway process runs on (`OMNIGATE_EVENT_LOOP`).

uvloop (libuv) runs the loop, its sockets and its callbacks in C: the gateway spends a large
share of its CPU in asyncio's own Python (the loop, transports, futures), which uvloop cuts.
Measured with `python -m bench` on SQLite: ingest +20 %, end to end +6 % (README, Benchmark).
It is a dependency everywhere it builds (not on Windows); `asyncio` is the fallback and the
choice for debugging with asyncio's own tooling.
"""

from __future__ import annotations

import asyncio
import importlib.util

CHOICES = ("auto", "uvloop", "asyncio")


class EventLoopUnavailable(ValueError):
    """The configured event loop cannot be used (a bad name, or uvloop not installed)."""


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def resolve(choice: str) -> str:
    """The loop a configured choice runs on, uvloop or asyncio (`auto`: uvloop if installed)."""
    name = choice.strip().lower()
    if name not in CHOICES:
        raise EventLoopUnavailable(
            f"OMNIGATE_EVENT_LOOP must be one of {', '.join(CHOICES)}, not {choice!r}"
        )
    if name == "auto":
        return "uvloop" if uvloop_installed() else "asyncio"
    if name == "uvloop" and not uvloop_installed():
        raise EventLoopUnavailable("OMNIGATE_EVENT_LOOP=uvloop, but uvloop is not installed")
    return name


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def running_loop_name() -> str:
    """What the running loop is, for the start-up log line."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
