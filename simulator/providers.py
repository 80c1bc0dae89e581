"""The simulated providers: FakeTwilio, FakeGraph and FakeTelegram on 127.0.0.1.

They are the test suite's fakes, unchanged: real aiohttp servers speaking each provider's
wire format, recording every API call the gateway makes and posting signed status callbacks
(Twilio: sent, delivered; WhatsApp: sent, delivered, read) back to the gateway a moment later.
"""

from __future__ import annotations

import asyncio
import contextlib

from adapters.fakes import FakeGraph, FakeTelegram, FakeTwilio
from simulator.credentials import TELEGRAM_BOT, WHATSAPP_PHONE_NUMBER_ID, SimCredentials

LOOPBACK = "127.0.0.1"


class SimulatedProviders:
    def __init__(self, credentials: SimCredentials, *, callback_delay: float = 0.6) -> None:
        self.credentials = credentials
        self.twilio = FakeTwilio(
            credentials.twilio_account_sid,
            credentials.twilio_auth_token,
            status_callbacks=True,
            callback_delay=callback_delay,
        )
        self.graph = FakeGraph(
            credentials.graph_token,
            phone_number_id=WHATSAPP_PHONE_NUMBER_ID,
            app_secret=credentials.graph_app_secret,
            status_callbacks=True,
            callback_delay=callback_delay,
        )
        self.telegram = FakeTelegram(credentials.telegram_token, bot=TELEGRAM_BOT)
        self.started = False

    @property
    def all(self) -> tuple[FakeTwilio, FakeGraph, FakeTelegram]:
        return self.twilio, self.graph, self.telegram

    async def start(self) -> None:
        """Start the three fakes on loopback, each on an ephemeral port."""
        for fake in self.all:
            await fake.start(LOOPBACK, 0)
        self.started = True

    def point_at(self, gateway_url: str) -> None:
        """Where FakeGraph posts its status webhooks (Twilio's callbacks go to the
        StatusCallback URL the gateway sends; Telegram delivers to its setWebhook URL)."""
        self.graph.webhook_url = gateway_url + "/webhooks/whatsapp"

    async def stop(self) -> None:
        for fake in (self.twilio, self.graph):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fake.drain(), 3.0)
        for fake in self.all:
            await fake.stop()
        self.started = False
