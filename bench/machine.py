"""A description of the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bot.event_loop import resolve as resolve_event_loop


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def revision(repo: Path) -> str:
    """The commit the gateway runs from, `+dirty` when its tracked files have local changes.

    Read-only: `--no-optional-locks` keeps git from refreshing the index of a shared tree.
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("diff", "--quiet", "HEAD", "--").returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty else "")


def describe() -> dict[str, Any]:
    return {
        "nproc": _nproc(),
        "cpu_model": _cpu_model(),
        "mem_total_mb": _mem_total_mb(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "sqlite": sqlite3.sqlite_version,
        # The loop the gateway and the ceiling run on (OMNIGATE_EVENT_LOOP, inherited by both).
        "event_loop": resolve_event_loop(os.environ.get("OMNIGATE_EVENT_LOOP", "auto")),
        "load_average_at_start": load_average(),
        "gateway_revision": revision(Path(__file__).resolve().parent.parent),
    }


def one_line(machine: dict[str, Any]) -> str:
    memory = f", {machine['mem_total_mb']} MB RAM" if machine.get("mem_total_mb") else ""
    return (
        f"machine: {machine['nproc']} CPU ({machine['cpu_model']}){memory}, "
        f"Python {machine['python']} ({machine['implementation']}), "
        f"Linux {machine['kernel']}, SQLite {machine['sqlite']}, "
        f"event loop {machine.get('event_loop', 'asyncio')}; "
        f"load average {machine['load_average_at_start']}; "
        f"gateway at {machine['gateway_revision']}"
    )
