"""The gateway under test: a real `omnigate serve` subprocess on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import procstat

REPO = Path(__file__).resolve().parent.parent
ERROR_MARKERS = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)")
WORKER_READY = re.compile(r"worker (\d+) \(pid (\d+)\) ready")


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


EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")
LOG_LEVEL = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$")
DIGITS = re.compile(r"\d+")
EXCEPTION_DETAIL = ("DETAIL:", "HINT:", "[SQL:", "[parameters:", "(Background", "Process ")
CHAINED = ("The above exception", "During handling")


def _final_exception(lines: list[str], i: int) -> bool:
    """Line i ends a traceback that is not the cause of another one."""
    for line in lines[i + 1 :]:
        if not line.strip() or line.startswith(EXCEPTION_DETAIL):
            continue
        return not line.startswith(CHAINED)
    return True


def log_findings(path: Path, limit: int = 10) -> dict[str, list[str]]:
    """What went wrong in the log, counted: warning and error messages (digits folded to N),
    and the exception each traceback ended with (with its SQL statement when there is one)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"messages": [], "exceptions": []}
    messages: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    for i, line in enumerate(lines):
        level = LOG_LEVEL.match(line)
        if level:
            messages[f"{level.group(1)} {DIGITS.sub('N', level.group(2))[:300]}"] += 1
        elif EXCEPTION.match(line) and _final_exception(lines, i):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            sql = f" {following[:200]}" if following.startswith("[SQL:") else ""
            exceptions[line[:300] + sql] += 1

    def top(counter: Counter[str]) -> list[str]:
        return [f"{n}× {text}" for text, n in counter.most_common(limit)]

    return {"messages": top(messages), "exceptions": top(exceptions)}


@dataclass
class Gateway:
    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path
    api_token: str
    workers: int = 1  # > 1: `omnigate serve --workers N`, the process is the supervisor

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the gateway itself, or the supervisor's workers."""
        if self.workers == 1:
            return [self.process.pid]
        return procstat.children(self.process.pid)

    async def wait_workers(self, timeout: float) -> list[int]:
        """With --workers N: until N live workers logged that they are ready; their pids."""
        if self.workers == 1:
            return [self.process.pid]
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            text = self.log_path.read_text(errors="replace")
            ready = {int(m.group(2)) for m in WORKER_READY.finditer(text)}
            live = [pid for pid in self.worker_pids() if pid in ready]
            if len(live) >= self.workers:
                await asyncio.sleep(0.2)  # each binds its port right after the ready line
                return live
            if self.process.returncode is not None or loop.time() - started > timeout:
                raise ServerFailed(
                    f"{self.workers} workers not ready within {timeout:.0f}s:\n"
                    + log_tail(self.log_path)
                )
            await asyncio.sleep(0.1)

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
    database_url: str,
    log_path: Path,
    api_token: str,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> Gateway:
    """Start `python -m bot.cli serve [--workers N]`; its stdout and stderr go to `log_path`."""
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
            *(["--workers", str(workers)] if workers != 1 else []),
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Gateway(process, f"http://127.0.0.1:{port}", log_path, api_token, workers)
