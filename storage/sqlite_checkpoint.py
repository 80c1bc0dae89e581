"""SQLite WAL checkpoints on a thread of their own, off the event loop.

Statements run on the loop's thread (storage/sqlite_inloop.py). With SQLite's automatic
checkpoints, the commit that takes the WAL past 1,000 pages copies all of them back into the
database file and waits on two fsyncs before it returns, with the loop blocked. Here a thread
runs PASSIVE checkpoints on its own connection every `interval` seconds: they never take the
write lock, so the loop's writer does not wait for them, and sqlite3 releases the GIL while
SQLite copies and syncs, so the copying runs on the other core.

The loop still checkpoints past LOOP_CHECKPOINT_FRAMES (`wal_autocheckpoint`, set by
storage/database.py), by then only the frames written since this thread's last tick. That
step is what keeps the WAL bounded: SQLite starts the WAL file over only when a checkpoint
has copied every frame and the next transaction begins after it, and under steady load a
commit nearly always lands while this thread is still copying (a burst of 20,000 webhooks
grew the WAL past 100,000 frames, 400 MB, without it). The loop's checkpoint runs right after
its own commit, when nothing else is written, so it completes and the WAL restarts.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.1  # seconds; a tick with nothing to copy only reads the WAL header
# 16 MB of 4 KB pages. SQLite's default is 1,000; the loop's checkpoint is rarer here, and
# this thread has copied most of those frames by the time it runs.
LOOP_CHECKPOINT_FRAMES = 4000
_WARN_FRAMES = 25 * LOOP_CHECKPOINT_FRAMES  # ~400 MB: long readers keep checkpoints back
_WARN_EVERY = 60.0  # seconds


class WalCheckpointer:
    def __init__(self, database: str, interval: float = DEFAULT_INTERVAL) -> None:
        self._database = database
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_at = float("-inf")
        self._last = (0, 0)  # the WAL's frames and frames copied at the last tick
        self.checkpoints = 0  # ticks that copied frames
        self.largest_wal = 0  # most frames seen in the WAL, for tests and logs

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            log.info(
                "SQLite WAL: %d checkpoints off the loop, at most %d frames",
                self.checkpoints,
                self.largest_wal,
            )

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._database, timeout=5, check_same_thread=False)
        except sqlite3.Error:
            log.exception("SQLite WAL checkpoints off the loop are off: cannot open the database")
            return
        try:
            while not self._stopping.wait(self._interval):
                self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            busy, wal_frames, copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.Error:
            # Never let the thread die: the loop would be left with all the copying.
            log.exception("SQLite WAL checkpoint failed; retrying")
            return
        # `copied` counts every frame of the WAL copied so far, not only by this tick: a tick
        # with nothing new to copy returns what the last one did (and does no I/O).
        if copied > 0 and (wal_frames, copied) != self._last:
            self.checkpoints += 1
        self._last = (wal_frames, copied)
        self.largest_wal = max(self.largest_wal, wal_frames)
        now = time.monotonic()
        if wal_frames > _WARN_FRAMES and now - self._warned_at > _WARN_EVERY:
            self._warned_at = now
            log.warning("SQLite WAL holds %d frames (busy=%d)", wal_frames, busy)
