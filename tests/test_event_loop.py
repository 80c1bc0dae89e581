"""`OMNIGATE_EVENT_LOOP`: which loop a gateway process runs on, and a clear refusal of a bad one.

That the server itself serves, drains and stops on each loop is checked by
tests/test_process_lifecycle.py (its SIGTERM test runs once per loop).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.event_loop import EventLoopUnavailable, new_event_loop, resolve, running_loop_name
from bot.settings import Settings
from bot.workers import refusal
from tests.processes import ROOT
from tests.support import free_port


def test_auto_takes_uvloop_which_the_gateway_depends_on() -> None:
    assert resolve("auto") == "uvloop"
    assert resolve(Settings().event_loop) == "uvloop"
    assert resolve(" AsyncIO ") == "asyncio"


def test_an_unknown_loop_is_refused_by_name() -> None:
    with pytest.raises(EventLoopUnavailable, match="one of auto, uvloop, asyncio, not 'tokio'"):
        resolve("tokio")


@pytest.mark.parametrize("choice", ["uvloop", "asyncio"])
def test_each_choice_runs_coroutines_on_that_loop(choice: str) -> None:
    loop = new_event_loop(choice)
    try:

        async def which() -> str:
            await asyncio.sleep(0)
            return running_loop_name()

        assert loop.run_until_complete(which()) == choice
    finally:
        loop.close()


def test_the_supervisor_refuses_a_bad_loop_before_starting_workers() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://u@h/db", redis_url="redis://r", event_loop="tokio"
    )
    problem = refusal(settings, 2)
    assert problem is not None and "OMNIGATE_EVENT_LOOP" in problem


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_a_bad_loop_exits_with_the_reason_and_touches_nothing(
    tmp_path: Path, workers: str
) -> None:
    database = tmp_path / "never.db"
    backend = f"sqlite+aiosqlite:///{database}" if workers == "1" else "postgresql://u@h/db"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", workers],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "OMNIGATE_EVENT_LOOP": "tokio",
            "OMNIGATE_DATABASE_URL": backend,
            "OMNIGATE_REDIS_URL": "redis://127.0.0.1:1/0",
            "OMNIGATE_PORT": str(free_port()),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "OMNIGATE_EVENT_LOOP must be one of auto, uvloop, asyncio" in done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()
