"""Resident memory and CPU time of a process, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Memory:
    rss_mb: float  # VmRSS: resident now
    peak_mb: float  # VmHWM: the kernel's high-water mark of resident memory


def memory(pid: int) -> Memory | None:
    """Current and peak resident memory of `pid`, or None when it cannot be read."""
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024.0  # kB -> MB
    except (OSError, ValueError, IndexError):
        return None
    if "VmRSS" not in values:
        return None
    return Memory(rss_mb=values["VmRSS"], peak_mb=values.get("VmHWM", values["VmRSS"]))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time consumed by `pid` so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # The command name (field 2) may contain spaces; fields after it are space separated.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Live child processes of `pid`, sorted (from /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float  # time.perf_counter()
    server_cpu: float | None  # CPU seconds of the server processes together
    client_cpu: float  # CPU seconds of this (the bench) process


def snapshot(pids: list[int]) -> Snapshot:
    times = [cpu_seconds(pid) for pid in pids]
    server = None if any(t is None for t in times) else sum(t for t in times if t is not None)
    return Snapshot(time.perf_counter(), server, time.process_time())


def usage(before: Snapshot, after: Snapshot) -> dict[str, float | None]:
    """CPU seconds and cores (seconds per wall second) of the server and of the bench client."""
    wall = after.at - before.at
    server = (
        after.server_cpu - before.server_cpu
        if after.server_cpu is not None and before.server_cpu is not None
        else None
    )
    client = after.client_cpu - before.client_cpu
    return {
        "wall_s": round(wall, 3),
        "server_s": None if server is None else round(server, 2),
        "server_cores": None if server is None or wall <= 0 else round(server / wall, 2),
        "client_s": round(client, 2),
        "client_cores": None if wall <= 0 else round(client / wall, 2),
    }
