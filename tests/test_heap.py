"""The gateway process's collector settings (bot/heap.py), applied after start-up."""

from __future__ import annotations

import gc

from aiohttp import web

from bot.heap import YOUNG_THRESHOLD, freeze_startup_heap


async def test_startup_objects_are_frozen_and_young_collections_are_rarer() -> None:
    threshold = gc.get_threshold()
    long_lived = [{"n": n} for n in range(1000)]  # what start-up leaves behind
    try:
        await freeze_startup_heap(web.Application())
        assert gc.get_freeze_count() >= len(long_lived)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *threshold[1:])
        collected = {id(obj) for obj in gc.get_objects()}  # frozen objects are in no generation
        assert not collected & {id(obj) for obj in long_lived}
    finally:
        gc.unfreeze()  # the test process goes on as before
        gc.set_threshold(*threshold)
