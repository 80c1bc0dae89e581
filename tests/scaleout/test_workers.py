"""`omnigate serve --workers N`: what it refuses, how it hands settings to its workers, and that
workers do not outlive their supervisor."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from adapters.fakes import FakeTwilio
from bot.settings import Settings
from bot.workers import MULTIPROCESS_DIR, port_is_free, refusal, worker_env
from tests.processes import ROOT, GatewayProcess
from tests.scaleout.cluster import gateway_env, stop_supervised, wait_workers
from tests.support import REDIS_URL

PG = "postgresql+asyncpg://omnigate@db.invalid/omnigate"


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNIGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_one_worker_needs_nothing_more() -> None:
    assert refusal(Settings(), 1) is None


def test_sqlite_is_refused_with_a_clear_message() -> None:
    problem = refusal(Settings(database_url="sqlite+aiosqlite:///x.db", redis_url="redis://r"), 2)
    assert problem is not None and "PostgreSQL" in problem and "one writer" in problem


def test_in_process_coordination_is_refused() -> None:
    problem = refusal(Settings(database_url=PG), 3)
    assert problem is not None and "OMNIGATE_REDIS_URL" in problem


def test_telegram_polling_is_refused() -> None:
    settings = Settings(
        database_url=PG, redis_url="redis://r", telegram_token="1:x", telegram_mode="polling"
    )
    problem = refusal(settings, 2)
    assert problem is not None and "OMNIGATE_TELEGRAM_MODE=webhook" in problem


def test_scale_out_backends_are_accepted() -> None:
    assert refusal(Settings(database_url=PG, redis_url="redis://r:6379/0"), 4) is None
    assert refusal(Settings(database_url=PG, redis_url="redis://r:6379/0"), 0) is not None


def test_cli_refuses_before_starting_anything(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/one.db"
    done = _serve("--workers", "2", OMNIGATE_DATABASE_URL=url, OMNIGATE_REDIS_URL="redis://r")
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr
    assert not (tmp_path / "one.db").exists()
    done = _serve("--workers", "2", OMNIGATE_DATABASE_URL=PG)
    assert done.returncode == 2 and "OMNIGATE_REDIS_URL" in done.stderr


def test_workers_get_exactly_the_supervisor_settings() -> None:
    settings = Settings(
        host="0.0.0.0",
        port=9123,
        database_url=PG,
        redis_url="redis://r:6379/2",
        telegram_allow_groups=True,
        webchat_burst_window=2.5,
        outbox_max_attempts=7,
    )
    env = worker_env(settings, base={"PATH": "/bin", "OMNIGATE_PORT": "1"})
    assert env["PATH"] == "/bin"
    assert Settings.from_env(env) == settings


def test_a_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)


async def test_workers_stop_when_the_supervisor_dies(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    env = gateway_env(REDIS_URL, redis_prefix, twilio.base_url)
    # A SIGKILLed supervisor cannot remove a metrics directory it made: give it one here.
    env[MULTIPROCESS_DIR] = str(tmp_path / "metrics")
    gateway = GatewayProcess(pg_url, tmp_path / "gateway.log", args=["--workers", "2"], **env)
    workers: list[int] = []
    try:
        await gateway.start(timeout=45)
        workers = await wait_workers(gateway, 2)
        # The supervisor stays small: it never loads the database layer its workers run;
        # and PostgreSQL workers never load SQLite's driver.
        assert not _mapped(gateway.proc.pid, "/sqlalchemy/")
        assert all(_mapped(pid, "/sqlalchemy/") for pid in workers)
        assert not any(_mapped(pid, "/_sqlite3.") for pid in workers)
        gateway.kill()  # SIGKILL: the supervisor cannot tell anyone
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while alive := [pid for pid in workers if _alive(pid)]:
            assert loop.time() < deadline, f"orphaned workers still running: {alive}"
            await asyncio.sleep(0.2)
        assert "supervisor (pid" in gateway.log_path.read_text()
    finally:
        stop_supervised(gateway)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _mapped(pid: int, path_part: str) -> bool:
    """Whether the process has mapped a file (a compiled module) whose path has this part."""
    return path_part in Path(f"/proc/{pid}/maps").read_text()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
