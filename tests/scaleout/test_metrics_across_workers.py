"""`/metrics` behind `omnigate serve --workers N` adds up every worker's counters: a scrape
reaches whichever worker the kernel picks, and each must report the whole gateway, or a
Prometheus counter would jump between the workers' own totals (read as resets)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
from prometheus_client.mmap_dict import MmapedDict

from adapters.fakes import FakeTwilio
from bot.workers import MULTIPROCESS_DIR, metrics_dir
from tests.processes import ROOT, GatewayProcess
from tests.scaleout.cluster import gateway_env, stop_supervised, wait_workers
from tests.scaleout.traffic import converse, make_customers, wait_delivered
from tests.support import REDIS_URL

CUSTOMERS, MESSAGES = 20, 2
TOTAL = CUSTOMERS * MESSAGES


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    series = f"{name}{{{wanted}}}" if wanted else name
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} missing from:\n{text[:2000]}"
    return float(match.group(1))


async def scrapes(base_url: str, count: int) -> list[str]:
    """`count` scrapes, each on a new connection (so the kernel picks a worker each time)."""
    pages = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(count):
            async with http.get(base_url + "/metrics") as response:
                assert response.status == 200
                pages.append(await response.text())
    return pages


def counted_by(directory: Path, pid: int) -> float:
    """Inbound messages one worker counted, from its own values file."""
    path = directory / f"counter_{pid}.db"
    if not path.exists():
        return 0.0
    return sum(
        value
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path))
        if key.startswith('["omnigate_messages_in"')
    )


async def test_every_scrape_reports_all_workers_and_survives_a_restart(
    pg_url: str, redis_prefix: str, twilio: FakeTwilio, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # Values a previous run left behind: the supervisor must not add them to this run's.
    stale = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.metrics import Metrics; Metrics().messages_in.labels('sms').inc(1000)",
        cwd=ROOT,
        env={**os.environ, MULTIPROCESS_DIR: str(directory)},
    )
    assert await stale.wait() == 0
    assert list(directory.glob("counter_*.db"))

    env = gateway_env(
        REDIS_URL, redis_prefix, twilio.base_url, **{MULTIPROCESS_DIR: str(directory)}
    )
    gateway = GatewayProcess(pg_url, tmp_path / "gateway.log", args=["--workers", "2"], **env)
    await gateway.start(timeout=45)
    try:
        workers = await wait_workers(gateway, 2)
        await converse(gateway.base_url, make_customers(CUSTOMERS, MESSAGES), gap=0.05)
        await wait_delivered(twilio, pg_url, TOTAL)

        # Both workers took part, so no single worker's own counter holds the total.
        shares = [counted_by(directory, pid) for pid in workers]
        assert all(share > 0 for share in shares) and sum(shares) == TOTAL, shares
        for page in await scrapes(gateway.base_url, 8):
            assert sample(page, "omnigate_messages_in_total", channel="sms") == TOTAL
            assert sample(page, "omnigate_messages_out_total", channel="sms") == TOTAL
            assert sample(page, "omnigate_outbox_depth") == 0

        # A worker killed and restarted: what it had counted still counts.
        os.kill(workers[0], signal.SIGKILL)
        deadline = asyncio.get_running_loop().time() + 30
        while workers[0] in await wait_workers(gateway, 2):  # until the supervisor replaced it
            assert asyncio.get_running_loop().time() < deadline, "worker not restarted"
            await asyncio.sleep(0.2)
        for page in await scrapes(gateway.base_url, 8):
            assert sample(page, "omnigate_messages_in_total", channel="sms") == TOTAL
        # ...from the archive the supervisor folded its files into: a worker dying in a loop
        # does not pile up files for every scrape to read.
        assert not list(directory.glob(f"*_{workers[0]}.db"))
        assert (directory / "counter_archive.db").exists()
    finally:
        stop_supervised(gateway)
    assert directory.is_dir()  # the operator's directory is kept


def test_the_supervisor_makes_its_own_directory_unless_given_one(tmp_path: Path) -> None:
    made, ours = metrics_dir({})
    try:
        assert ours and Path(made).is_dir() and not os.listdir(made)
    finally:
        os.rmdir(made)
    given = tmp_path / "given"
    given.mkdir()
    stale_files = ("counter_1.db", "gauge_mostrecent_12.db", "histogram_345.db")
    for stale in (*stale_files, "counter_archive.db"):
        (given / stale).write_bytes(b"stale")
    for other in ("notes.txt", "app.db", "counter.db"):  # not prometheus_client's: kept
        (given / other).write_text("not ours")
    path, ours = metrics_dir({MULTIPROCESS_DIR: str(given)})
    assert (path, ours) == (str(given), False)
    assert sorted(p.name for p in given.iterdir()) == ["app.db", "counter.db", "notes.txt"]
