"""The garbage collector in a gateway process (`omnigate serve` and each `--workers` worker).

Measured under the benchmark's load (SQLite, one process; gc callbacks): the collector took
about 1.7 s of some 19 s of CPU. Two causes:
- A gateway allocates and frees container objects at a high rate (rows, dicts, coroutines),
  so CPython's default threshold (700 net new objects) ran 2,250 young collections, 0.5 s.
  At 10,000 they are 17 (34 ms): most objects are freed by reference counting before then.
- Once started, a gateway holds some 95,000 long-lived objects (modules, SQLAlchemy's mappers
  and compiled statements, the intent index) that each full collection walked again: 18 of
  them, up to 62 ms each, pauses every request in flight waited through. Frozen after start-up
  they are left out of every collection.
Together: 1.7 s -> 0.1 s, peak memory +1 MB. Not for tests or embedding: only the process
entry points call this.
"""

from __future__ import annotations

import gc

from aiohttp import web

YOUNG_THRESHOLD = 10_000  # CPython's default is 700


async def freeze_startup_heap(_app: web.Application) -> None:
    """An on_startup hook, appended after the app's own (the runtime is up by then)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
