"""The metric files of `omnigate serve --workers N` (PROMETHEUS_MULTIPROC_DIR, bot/metrics.py).

prometheus_client keeps each worker's values in files of its own (counter_<pid>.db, ...) and a
scrape adds up every file. A dead worker's counters must stay counted (counters never go back),
but a worker dying in a loop used to leave three files per restart, all read by every scrape.
The supervisor now folds a dead worker's files into one archive per kind instead. Folding and
scraping take a lock on the directory, so no scrape reads a worker's values twice (the archive
already holding them, the worker's file not yet removed) or not at all.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

# prometheus_client's files (counter_<pid>.db, gauge_mostrecent_<pid>.db, ...) and our archives.
METRIC_FILE = re.compile(r"(counter|gauge_\w+|histogram|summary)_(\d+|archive)\.db")
_ADDED_UP = ("counter", "histogram", "summary")  # kinds whose stored values a scrape sums
_LOCK = ".lock"  # not *.db: prometheus_client never reads it


@contextlib.contextmanager
def _locked(directory: str, *, exclusive: bool) -> Iterator[None]:
    import fcntl  # here: bot.metrics imports this module on every platform

    fd = os.open(os.path.join(directory, _LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def reading(directory: str, collect: Callable[[], T]) -> T:
    """Run a scrape's `collect` while no fold is under way."""
    with _locked(directory, exclusive=False):
        return collect()


def fold_dead_worker(directory: str, pid: int) -> int:
    """Add the counters, histograms and summaries of the dead worker `pid` to the archives and
    remove its files, gauges included (the gauges are the shared database's figures, written
    afresh by the live worker a scrape reaches). Returns how many files were removed."""
    removed = 0
    with _locked(directory, exclusive=True):
        for name in os.listdir(directory):
            match = METRIC_FILE.fullmatch(name)
            if match is None or match.group(2) != str(pid):
                continue
            path = os.path.join(directory, name)
            kind = match.group(1)
            if kind in _ADDED_UP:
                _add_to_archive(path, os.path.join(directory, f"{kind}_archive.db"))
            os.remove(path)
            removed += 1
    return removed


def _add_to_archive(path: str, archive: str) -> None:
    """Rewrite `archive` as itself plus `path`. Stored values are per key and additive for
    these kinds: a histogram keeps each bucket's own count and its sum (a scrape makes them
    cumulative)."""
    from prometheus_client.mmap_dict import MmapedDict  # only once a worker died

    totals: defaultdict[str, float] = defaultdict(float)
    for source in (archive, path):
        if os.path.exists(source):
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(source):
                totals[key] += value
    partial = archive + ".part"  # not *.db: never read by a scrape
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)
    merged = MmapedDict(partial)
    try:
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
    finally:
        merged.close()
    os.replace(partial, archive)
