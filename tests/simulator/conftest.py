"""Fixtures for the simulator tests: a real simulation (fakes + gateway + simulator page).

`simulation` starts what `omnigate serve --simulate` starts, in this process, on ephemeral
loopback ports with a throwaway SQLite file; tests reach it only over HTTP (the simulator API,
the gateway's REST API) or through a real browser. Nothing of ours is mocked.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.settings import Settings
from simulator.simulation import Simulation
from tests.simulator.client import SimClient


@pytest.fixture
async def simulation(tmp_path: Path) -> AsyncIterator[Simulation]:
    sim = Simulation(
        Settings(shutdown_grace=3.0, outbox_poll_interval=0.2),
        port=0,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/simulation.db",
        callback_delay=0.05,
    )
    async with sim:
        yield sim


@pytest.fixture
async def client(simulation: Simulation) -> AsyncIterator[SimClient]:
    async with aiohttp.ClientSession() as http:
        yield SimClient(simulation.url, simulation.settings.api_token, http)


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a simulated customer does, the gateway and the simulator log no crash."""
    caplog.set_level(logging.INFO)
    yield
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]
    crashes = [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.exc_info is not None or "Traceback" in r.getMessage()
    ]
    assert not crashes, f"tracebacks in the server log: {crashes}"
