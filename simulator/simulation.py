"""One simulation: the provider fakes, a gateway configured for them, and the simulator page.

    async with Simulation(Settings.from_env(), port=0) as sim:
        print(sim.url + "/simulator")

Start order: bind the gateway's socket (so its URL, which providers sign over, is known),
start the fakes, build the gateway's settings, start the gateway, register the Telegram
webhook through the adapter (what `omnigate telegram set-webhook` does), start listening,
start the phones' feed, create the demo agent through the REST API.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from types import TracebackType

from aiohttp import web

from bot.app import RUNTIME, create_app
from bot.settings import Settings
from simulator.api import mount
from simulator.config import simulation_settings
from simulator.credentials import SimCredentials
from simulator.deliver import Deliverer
from simulator.demo_agent import DemoAgent, create_demo_agent
from simulator.feed import Feed
from simulator.providers import SimulatedProviders

log = logging.getLogger("omnigate.simulator")

LOOPBACK = "127.0.0.1"


class Simulation:
    def __init__(
        self,
        base: Settings,
        *,
        host: str = LOOPBACK,
        port: int = 8080,
        database_url: str = "",
        callback_delay: float = 0.6,
    ) -> None:
        self._base = base
        self.host = host
        self._port = port
        self._database_url = database_url
        self._tempdir = ""
        self.providers = SimulatedProviders(
            SimCredentials.generate(), callback_delay=callback_delay
        )
        self.feed = Feed(self.providers)
        self.settings: Settings
        self.app: web.Application
        self.deliverer: Deliverer
        self.agent: DemoAgent | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        listener = _bind(self.host, self._port)
        self._port = listener.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self._port}"
        try:
            await self.providers.start()
            self.providers.point_at(self.url)
            self.settings = simulation_settings(
                self._base,
                self.providers,
                host=self.host,
                port=self._port,
                database_url=self._database_url or self._throwaway_database(),
            )
            self.deliverer = Deliverer(self.providers, self.feed, self.url)
            self.app = create_app(self.settings)
            mount(self.app, self)
            self._runner = web.AppRunner(
                self.app, handle_signals=False, shutdown_timeout=self.settings.shutdown_grace
            )
            await self._runner.setup()  # the gateway starts: migrations, adapters, workers
            await self.app[RUNTIME].adapters["telegram"].set_webhook()  # type: ignore[attr-defined]
            await web.SockSite(self._runner, listener).start()
        except BaseException:
            listener.close()
            await self.stop()
            raise
        self.feed.start()
        self.agent = await create_demo_agent(self.url, self.settings.api_token)
        log.info(
            "[simulation] providers on %s (Twilio), %s (WhatsApp Cloud), %s (Telegram)",
            self.providers.twilio.base_url,
            self.providers.graph.base_url,
            self.providers.telegram.base_url,
        )

    async def stop(self) -> None:
        await self.feed.stop()
        if self._runner is not None:
            await self._runner.cleanup()  # graceful: turns in flight finish, outbox flushes
            self._runner = None
        if hasattr(self, "deliverer"):
            await self.deliverer.close()
        if self.providers.started:
            await self.providers.stop()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = ""

    async def __aenter__(self) -> Simulation:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _throwaway_database(self) -> str:
        self._tempdir = tempfile.mkdtemp(prefix="omnigate-simulation-")
        return f"sqlite+aiosqlite:///{self._tempdir}/simulation.db"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)
