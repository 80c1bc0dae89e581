"""SQLite WAL checkpoints on a thread of their own, off the event loop.

Statements run on the loop's thread (storage/sqlite_inloop.py). With SQLite's automatic
checkpoints, the commit that takes the WAL past 1,000 pages also copies every page back into
the database file and waits on two fsyncs before it returns, with the loop blocked. Here the
serving engine turns automatic checkpoints off (`wal_autocheckpoint=0`) and this thread runs
PASSIVE checkpoints on its own connection every `interval` seconds. A PASSIVE checkpoint never
takes the write lock, so the loop's writer does not wait for it; sqlite3 releases the GIL while
SQLite copies and syncs, so the work runs on the other core.

A checkpoint that cannot finish (a reader still needs old frames) is retried on the next
tick, as SQLite's own would be on the next commit. When the last connection closes, SQLite
checkpoints and removes the WAL itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.2  # seconds; a tick with nothing to copy only reads the WAL header


class WalCheckpointer:
    def __init__(self, database: str, interval: float = DEFAULT_INTERVAL) -> None:
        self._database = database
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # completed ticks that copied frames, for tests and logs

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, timeout=5, check_same_thread=False)
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
            # Never let the thread die: without it the WAL would grow without bound.
            log.exception("SQLite WAL checkpoint failed; retrying")
            return
        if copied > 0:
            self.checkpoints += 1
        if wal_frames > 100_000:  # ~400 MB: readers keep the checkpoint from finishing
            log.warning("SQLite WAL holds %d frames (busy=%d)", wal_frames, busy)
