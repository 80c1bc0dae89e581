"""Run the real `omnigate serve` as a child process (crash and shutdown tests, benchmarks)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from tests.support import API_TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent


class GatewayProcess:
    def __init__(
        self, database_url: str, log_path: Path, *, args: Sequence[str] = (), **env: str
    ) -> None:
        """`args` are added to `omnigate serve` (say `--workers 2`); `env` to its environment."""
        self.args = list(args)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "OMNIGATE_HOST": "127.0.0.1",
            "OMNIGATE_PORT": str(self.port),
            "OMNIGATE_DATABASE_URL": database_url,
            "OMNIGATE_API_TOKEN": API_TOKEN,
            "OMNIGATE_PUBLIC_URL": self.base_url,
            "OMNIGATE_OUTBOX_POLL_INTERVAL": "0.2",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/webchat/ws"

    async def start(self, timeout: float = 30.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; we poll it
            [sys.executable, "-m", "bot.cli", "serve", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gateway exited early:\n{self.log_path.read_text()}")
                try:
                    async with http.get(self.base_url + "/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    async def api(self, path: str) -> Any:
        async with aiohttp.ClientSession() as http:
            async with http.get(
                self.base_url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}
            ) as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()
