"""Resident memory and CPU time of a process, read from /proc (Linux)."""

from __future__ import annotations

import os
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
