"""`omnigate serve --simulate`: run a simulation until Ctrl+C or SIGTERM.

Every log line of the process is labelled "[simulation]", a banner says what runs where,
and the OMNIGATE_* variables that simulate mode ignores are named. It listens on 127.0.0.1
unless `--host` is given explicitly on the command line (OMNIGATE_HOST is ignored here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.settings import Settings
from simulator.config import overridden_env
from simulator.simulation import LOOPBACK, Simulation

log = logging.getLogger("omnigate.simulator")
LABEL = "[simulation]"


class SimulationLabel(logging.Filter):
    """Prefixes every record with "[simulation]" (once, whatever the handler count)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and not record.msg.startswith(LABEL):
            record.msg = f"{LABEL} {record.msg}"
        return True


def label_logs() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(SimulationLabel())


def run_simulation(settings: Settings, *, explicit_host: str = "", workers: int = 1) -> int:
    if workers != 1:
        print("--simulate runs one process: drop --workers", file=sys.stderr)
        return 2
    label_logs()
    host = explicit_host or LOOPBACK
    ignored = overridden_env()
    if ignored:
        log.warning(
            "[simulation] ignoring %s: simulated providers, a throwaway database and a "
            "generated API token replace them",
            ", ".join(ignored),
        )
    if host not in (LOOPBACK, "localhost", "::1"):
        log.warning(
            "[simulation] listening on %s as asked: anyone who can reach it can use the "
            "simulator and read the API token it shows",
            host,
        )
    try:
        asyncio.run(_serve(settings, host))
    except OSError as exc:
        print(f"cannot start the simulation: {exc} (another port: --port 8081)", file=sys.stderr)
        return 1
    return 0


async def _serve(settings: Settings, host: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with Simulation(settings, host=host, port=settings.port) as sim:
        page = f"{sim.url}/simulator"
        for line in (
            "=" * 72,
            "SIMULATION MODE: simulated WhatsApp, SMS and Telegram providers on this machine.",
            "Nothing is sent to real providers or customers; the database is thrown away at exit.",
            f"Simulator:  {page}",
            f"Listening:  {host}:{sim.port} (gateway) and 127.0.0.1 (providers)",
            f"API token:  {sim.settings.api_token}",
            "=" * 72,
        ):
            log.info("[simulation] %s", line)
        print(f"Omnigate SIMULATION on {page}  (Ctrl+C to stop)", flush=True)
        await stop.wait()
        log.info("[simulation] stopping")
