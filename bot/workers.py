"""`omnigate serve --workers N`: a supervisor and N gateway processes sharing one port.

Each worker is a fresh interpreter (`python -m bot.worker`, spawned, not forked: no event
loop, connection pool or logging lock crosses a fork) running the ordinary app with
SO_REUSEPORT, so the kernel spreads new connections over the workers that are listening.
A worker binds only once its startup (migrations, sweep) is done, and a dead worker's socket
leaves the group at once, so connections never wait on a worker that cannot answer.

The supervisor runs no event loop and holds no sockets or database connections. It restarts
a worker that exits (0.5 s after a worker that had run a while, doubling up to 30 s for one
that keeps dying at start), forwards SIGTERM / SIGINT to every worker for a graceful stop
(each one finishes its turns and flushes its outbox within OMNIGATE_SHUTDOWN_GRACE) and exits
0 once they are all done.

Several processes need the scale-out backends: PostgreSQL (SQLite has a single writer) and
Redis (per-conversation locks, web chat pub/sub and pacing must be shared by all workers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from types import FrameType

from bot.event_loop import EventLoopUnavailable
from bot.event_loop import resolve as resolve_event_loop
from bot.metrics_files import METRIC_FILE, fold_dead_worker
from bot.settings import Settings

# prometheus_client's variable, spelled out: the supervisor does not import it (bot/metrics.py)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger("omnigate.workers")

RESTART_DELAY = 0.5  # seconds before restarting a worker that had been running a while
RESTART_DELAY_MAX = 30.0  # ...doubling for each quick death in a row, up to this
STABLE_AFTER = 30.0  # a worker that ran this long had not been "dying at start"
POLL = 0.1  # seconds between looks at the workers
STOP_MARGIN = 5.0  # seconds past the shutdown grace before a worker is killed


def refusal(settings: Settings, workers: int) -> str | None:
    """Why `--workers N` cannot run with these settings, or None when it can."""
    if workers < 1:
        return "--workers must be 1 or more."
    try:
        resolve_event_loop(settings.event_loop)
    except EventLoopUnavailable as exc:
        return str(exc)
    if workers == 1:
        return None
    if settings.is_sqlite:
        return (
            f"--workers {workers} needs PostgreSQL: a SQLite database takes one writer, so the "
            "embedded default runs one process. Set OMNIGATE_DATABASE_URL="
            "postgresql://user@host/db, or run `omnigate serve` without --workers."
        )
    if not settings.redis_url:
        return (
            f"--workers {workers} needs OMNIGATE_REDIS_URL (redis://host:6379/0): in-process "
            "coordination cannot coordinate processes (per-conversation turn locks, web chat "
            "pub/sub, rate limits and pacing must be shared by every worker)."
        )
    if settings.telegram_token and settings.telegram_mode == "polling":
        return (
            f"--workers {workers} cannot poll Telegram: getUpdates takes one poller per bot, and "
            "workers would confirm each other's updates. Use OMNIGATE_TELEGRAM_MODE=webhook."
        )
    return None


def metrics_dir(env: dict[str, str]) -> tuple[str, bool]:
    """Where the workers keep their metric values (bot/metrics.py), and whether it is ours to
    remove. A directory the operator set is kept, but emptied: prometheus_client would add up
    the values a previous run left there."""
    given = env.get(MULTIPROCESS_DIR)
    if not given:
        return tempfile.mkdtemp(prefix="omnigate-metrics-"), True
    os.makedirs(given, exist_ok=True)
    for name in os.listdir(given):
        if METRIC_FILE.fullmatch(name):  # nothing else is removed
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(given, name))
    return given, False


def worker_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that gives a worker exactly these settings (CLI overrides included)."""
    env = dict(os.environ if base is None else base)
    for f in fields(Settings):
        if f.name == "extra":
            continue
        value = getattr(settings, f.name)
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[f"OMNIGATE_{f.name.upper()}"] = str(value)
    return env


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on (host, port); a stale worker sharing the port through
    SO_REUSEPORT would otherwise silently take part of our traffic."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0


class Supervisor:
    def __init__(self, settings: Settings, count: int) -> None:
        self._settings = settings
        self._workers = [_Worker(i + 1) for i in range(count)]
        self._env = worker_env(settings)
        self._metrics_dir, self._own_metrics_dir = metrics_dir(self._env)
        self._env[MULTIPROCESS_DIR] = self._metrics_dir
        self._stop_signal: int | None = None

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for worker in self._workers:
                self._spawn(worker)
            while self._stop_signal is None:
                self._tend()
                time.sleep(POLL)
            return self._stop_all()
        finally:
            if self._own_metrics_dir:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop_signal = signum

    def _spawn(self, worker: _Worker) -> None:
        worker.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.worker", str(worker.index)],
            env=self._env,
            # Own session: a terminal's Ctrl+C reaches the supervisor only, which then stops
            # every worker once (a second SIGINT would cut a worker's graceful stop short).
            start_new_session=True,
        )
        worker.started = time.monotonic()
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)

    def _tend(self) -> None:
        now = time.monotonic()
        for worker in self._workers:
            if worker.proc is not None:
                code = worker.proc.poll()
                if code is None:
                    continue
                lived = now - worker.started
                worker.quick_deaths = 0 if lived >= STABLE_AFTER else worker.quick_deaths + 1
                delay = min(RESTART_DELAY * 2 ** max(0, worker.quick_deaths - 1), RESTART_DELAY_MAX)
                log.warning(
                    "worker %d (pid %d) exited with %s after %.1fs; restarting in %.1fs",
                    worker.index,
                    worker.proc.pid,
                    _describe(code),
                    lived,
                    delay,
                )
                self._fold_metrics(worker.proc.pid)
                worker.proc = None
                worker.restart_at = now + delay
            if worker.proc is None and now >= worker.restart_at:
                self._spawn(worker)

    def _fold_metrics(self, pid: int) -> None:
        try:
            fold_dead_worker(self._metrics_dir, pid)
        except Exception:  # the supervisor must go on restarting workers
            log.exception("metrics of worker pid %d not folded into the archive", pid)

    def _stop_all(self) -> int:
        name = signal.Signals(self._stop_signal or signal.SIGTERM).name
        log.info("%s: stopping %d workers", name, len(self._workers))
        live = [w.proc for w in self._workers if w.proc is not None and w.proc.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._settings.shutdown_grace + STOP_MARGIN
        clean = True
        for proc in live:
            try:
                code = proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker pid %d did not stop in time; killing it", proc.pid)
                proc.kill()
                code = proc.wait()
            # A worker still starting up has no handler yet and dies of the SIGTERM itself:
            # it held no work, so that is a clean stop too.
            if code not in (0, -signal.SIGTERM):
                clean = False
                log.warning("worker pid %d stopped with %s", proc.pid, _describe(code))
        log.info("all workers stopped")
        return 0 if clean else 1


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
    return f"code {code}"


def serve_workers(settings: Settings, workers: int) -> int:
    """Run `workers` gateway processes on settings.port until SIGTERM / SIGINT."""
    problem = refusal(settings, workers)
    if problem:
        print(f"omnigate: {problem}", file=sys.stderr)
        return 2
    if not port_is_free(settings.host, settings.port):
        print(f"omnigate: {settings.host}:{settings.port} is already in use.", file=sys.stderr)
        return 2
    print(
        f"Omnigate on http://{settings.host}:{settings.port}/ with {workers} workers "
        "(Ctrl+C to stop)",
        flush=True,
    )
    return Supervisor(settings, workers).run()
