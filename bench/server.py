"""The gateway under test: a real `omnigate serve` subprocess on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
ERROR_MARKERS = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)")


class ServerFailed(Exception):
    """The gateway did not start, or died; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def error_lines(path: Path) -> list[str]:
    """Lines of the server's log that report errors or tracebacks."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if any(m in line for m in ERROR_MARKERS)]


@dataclass
class Gateway:
    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path
    api_token: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/webchat/ws"

    async def wait_healthy(self, http: aiohttp.ClientSession, timeout: float) -> float:
        """Poll /healthz until it answers 200; returns the seconds it took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            if self.process.returncode is not None:
                raise ServerFailed(
                    f"gateway exited with {self.process.returncode} while starting:\n"
                    + log_tail(self.log_path)
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    self.base_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return loop.time() - started
            if loop.time() - started > timeout:
                raise ServerFailed(
                    f"gateway not healthy within {timeout:.0f}s:\n" + log_tail(self.log_path)
                )
            await asyncio.sleep(0.1)

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL after `timeout`; returns the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode


async def start_gateway(
    database_url: str, log_path: Path, api_token: str, extra_env: dict[str, str] | None = None
) -> Gateway:
    """Start `python -m bot.cli serve`; its stdout and stderr go to `log_path`."""
    port = free_port()
    # Only the settings we choose: nothing leaks in from the caller's OMNIGATE_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIGATE_")}
    env.update(
        {
            "OMNIGATE_HOST": "127.0.0.1",
            "OMNIGATE_PORT": str(port),
            "OMNIGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OMNIGATE_DATABASE_URL": database_url,
            "OMNIGATE_API_TOKEN": api_token,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Gateway(process, f"http://127.0.0.1:{port}", log_path, api_token)
