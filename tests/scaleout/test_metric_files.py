"""A dead worker's metric files are folded into archives (bot/metrics_files.py): scrapes add up
to the same figures before, during and after, and the files do not pile up."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.metrics_files import fold_dead_worker, reading
from bot.workers import MULTIPROCESS_DIR
from tests.processes import ROOT

# Each process counts messages and observes a hand-off wait, as a worker would.
WORK = """
import os, sys
from bot.metrics import Metrics
m = Metrics()
n = int(sys.argv[1])
m.messages_in.labels("sms").inc(n)
m.messages_in.labels("telegram").inc(1)
for seconds in (3, 40, 700):
    m.first_agent_reply.observe(seconds * n)
print(os.getpid())
"""


async def _dead_workers(directory: Path, count: int) -> list[int]:
    pids = []
    for n in range(1, count + 1):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORK,
            str(n),
            cwd=ROOT,
            env={**os.environ, MULTIPROCESS_DIR: str(directory)},
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0
        pids.append(int(out))
    return pids


def _scrape(directory: Path) -> str:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return reading(str(directory), lambda: generate_latest(registry).decode())


def _figures(page: str) -> list[str]:
    return sorted(line for line in page.splitlines() if re.match(r"omnigate_\w+[{ ]", line))


async def test_folding_keeps_every_figure_and_removes_the_files(tmp_path: Path) -> None:
    pids = await _dead_workers(tmp_path, 4)
    before = _figures(_scrape(tmp_path))
    assert 'omnigate_messages_in_total{channel="sms"} 10.0' in before  # 1 + 2 + 3 + 4
    assert "omnigate_first_agent_reply_seconds_count 12.0" in before

    assert fold_dead_worker(str(tmp_path), pids[0]) >= 2  # its counter and histogram files
    assert _figures(_scrape(tmp_path)) == before
    for pid in pids[1:]:
        fold_dead_worker(str(tmp_path), pid)
        assert _figures(_scrape(tmp_path)) == before
    assert sorted(name for name in os.listdir(tmp_path) if name.endswith(".db")) == [
        "counter_archive.db",
        "histogram_archive.db",
    ]
    assert fold_dead_worker(str(tmp_path), pids[0]) == 0  # nothing left of it


async def test_a_scrape_during_folds_never_counts_a_worker_twice_or_not_at_all(
    tmp_path: Path,
) -> None:
    pids = await _dead_workers(tmp_path, 8)
    expected = _figures(_scrape(tmp_path))
    seen: list[list[str]] = []
    done = threading.Event()

    def scrape_until_done() -> None:
        while not done.is_set():
            seen.append(_figures(_scrape(tmp_path)))

    scraper = threading.Thread(target=scrape_until_done)
    scraper.start()
    try:
        for pid in pids:
            fold_dead_worker(str(tmp_path), pid)
    finally:
        done.set()
        scraper.join()
    seen.append(_figures(_scrape(tmp_path)))
    assert seen and all(page == expected for page in seen)
