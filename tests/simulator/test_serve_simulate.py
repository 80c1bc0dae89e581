"""`omnigate serve --simulate` as a real subprocess: it starts, binds only 127.0.0.1 (even when
OMNIGATE_HOST says otherwise), labels its logs, ignores real provider settings, round-trips a
message through the simulator API, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.simulator.client import SimClient
from tests.support import free_port

OMNIGATE = Path(sys.executable).parent / "omnigate"
START_TIMEOUT = 60.0


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc (Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            if width == 8:
                host = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                host = "ipv6:" + address
            found.append((host, int(port, 16)))
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs Linux /proc to read the process's listening sockets")
    port = free_port()
    env = dict(os.environ)
    env.update(
        OMNIGATE_HOST="0.0.0.0",  # ignored: simulate mode listens on loopback unless --host
        OMNIGATE_TWILIO_AUTH_TOKEN="a-real-looking-token",
        OMNIGATE_TWILIO_API_URL="https://api.twilio.com",
        OMNIGATE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/must-not-be-used.db",
        OMNIGATE_SHUTDOWN_GRACE="3",
    )
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [str(OMNIGATE), "serve", "--simulate", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    yield process, port, stderr
    if process.poll() is None:
        process.kill()
        process.wait(10)


def wait_for_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "SIMULATION" in line:
            return line
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before starting")
    raise AssertionError("no start banner within the timeout")


async def test_serve_simulate_binds_loopback_only_and_round_trips_a_message(
    served: tuple[subprocess.Popen[str], int, Path], tmp_path: Path
) -> None:
    process, port, stderr = served
    banner = await asyncio.to_thread(wait_for_banner, process)
    assert f"http://127.0.0.1:{port}/simulator" in banner

    sockets = listening_addresses(process.pid)
    assert len(sockets) == 4, sockets  # the gateway and the three simulated providers
    assert {host for host, _ in sockets} == {"127.0.0.1"}, sockets
    assert ("127.0.0.1", port) in sockets

    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        async with http.get(base + "/simulator/api/state") as answer:
            state = await answer.json()
        assert all(url.startswith("http://127.0.0.1:") for url in state["providers"].values())
        client = SimClient(base, state["admin_token"], http)
        status, body = await client.send(channel="sms", sender="+905551112233", text="merhaba")
        assert status == 200 and body["message"]["status"] == "received", body
        reply = await client.wait_message(
            lambda i: i["direction"] == "out" and i["channel"] == "sms", timeout=30
        )
        assert reply["peer"] == "+905551112233" and reply["text"]

    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 20) == 0
    log = stderr.read_text()
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines and all("[simulation]" in line for line in lines), log
    assert "OMNIGATE_TWILIO_AUTH_TOKEN" in log and "OMNIGATE_HOST" in log  # said what it ignores
    assert "Traceback" not in log
    assert not (tmp_path / "must-not-be-used.db").exists()
