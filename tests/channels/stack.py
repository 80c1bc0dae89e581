"""A real gateway wired to the three provider fakes, and the provider's side of each channel.

`channel_stack(database_url, **settings)` starts FakeTwilio, FakeGraph and FakeTelegram on
loopback, then a real gateway whose provider URLs point at them. The fakes call the gateway
back like the providers do: FakeTwilio posts signed status callbacks to the StatusCallback URL
the gateway sent, FakeGraph posts signed `statuses` webhooks to `/webhooks/whatsapp`, and
FakeTelegram delivers updates to the webhook the gateway registered with setWebhook (the same
call `omnigate telegram set-webhook` makes).

Nothing of ours is mocked: tests talk to the gateway over HTTP the way providers do and read
results from the provider fakes (what reached the "provider") and the REST API (what the
gateway recorded).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from adapters.fakes import (
    FakeGraph,
    FakeTelegram,
    FakeTwilio,
    WebhookResponse,
    send_meta_webhook,
    send_twilio_webhook,
    twilio_inbound_params,
    twilio_status_params,
    whatsapp_payload,
    whatsapp_status,
    whatsapp_text_payload,
)
from adapters.fakes.graph_webhooks import TEST_PHONE_NUMBER_ID
from adapters.fakes.telegram import DEFAULT_TOKEN
from tests.support import LiveGateway, start_gateway

TWILIO_SID = "AC" + "5" * 32
TWILIO_TOKEN = "twilio-e2e-auth-token"
SMS_FROM = "+15005550006"
WA_FROM = "+14155238886"
GRAPH_TOKEN = "EAAG-e2e-graph-token"
GRAPH_SECRET = "meta-e2e-app-secret"
VERIFY_TOKEN = "meta-e2e-verify-token"
PHONE_NUMBER_ID = TEST_PHONE_NUMBER_ID
TELEGRAM_TOKEN = DEFAULT_TOKEN
TELEGRAM_SECRET = "tg-e2e-secret_0123"

CUSTOMER = "+905551112233"  # the customer's phone (E.164)
WA_ID = CUSTOMER.lstrip("+")  # the same number as WhatsApp Cloud names it

Message = dict[str, Any]


@dataclass
class Stack:
    gw: LiveGateway
    twilio: FakeTwilio
    graph: FakeGraph
    telegram: FakeTelegram

    # -- URLs ----------------------------------------------------------------------------

    @property
    def twilio_url(self) -> str:
        return self.gw.base_url + "/webhooks/twilio"

    @property
    def twilio_status_url(self) -> str:
        return self.gw.base_url + "/webhooks/twilio/status"

    @property
    def whatsapp_url(self) -> str:
        return self.gw.base_url + "/webhooks/whatsapp"

    @property
    def telegram_url(self) -> str:
        return self.gw.base_url + "/webhooks/telegram"

    # -- the providers' side of inbound messages ------------------------------------------

    async def twilio_in(
        self,
        text: str,
        *,
        number: str = CUSTOMER,
        whatsapp: bool = False,
        message_sid: str | None = None,
        **fields: Any,
    ) -> tuple[WebhookResponse, dict[str, str]]:
        """An incoming SMS (or WhatsApp through Twilio) signed like Twilio signs it."""
        prefix = "whatsapp:" if whatsapp else ""
        params = twilio_inbound_params(
            from_=prefix + number,
            to=prefix + (WA_FROM if whatsapp else SMS_FROM),
            body=text,
            account_sid=TWILIO_SID,
            message_sid=message_sid,
            **fields,
        )
        answer = await send_twilio_webhook(self.twilio_url, params, TWILIO_TOKEN)
        return answer, params

    async def twilio_status(
        self, sid: str, status: str, *, to: str = CUSTOMER, error_code: str | None = None
    ) -> WebhookResponse:
        """A status callback for an SMS we sent, as Twilio posts it to our StatusCallback."""
        params = twilio_status_params(
            message_sid=sid,
            status=status,
            from_=SMS_FROM,
            to=to,
            account_sid=TWILIO_SID,
            error_code=error_code,
        )
        return await send_twilio_webhook(self.twilio_status_url, params, TWILIO_TOKEN)

    async def meta_in(
        self, text: str, *, wa_id: str = WA_ID, message_id: str = "", profile_name: str = ""
    ) -> tuple[WebhookResponse, dict[str, Any]]:
        """A WhatsApp Cloud API text message webhook, serialised and signed like Meta's."""
        payload = whatsapp_text_payload(
            wa_id=wa_id,
            text=text,
            message_id=message_id,
            profile_name=profile_name,
            phone_number_id=PHONE_NUMBER_ID,
        )
        return await self.meta_post(payload), payload

    async def meta_post(self, payload: dict[str, Any] | bytes, **kw: Any) -> WebhookResponse:
        return await send_meta_webhook(self.whatsapp_url, payload, GRAPH_SECRET, **kw)

    async def meta_status(
        self, wamid: str, status: str, *, wa_id: str = WA_ID, **error: Any
    ) -> WebhookResponse:
        item = whatsapp_status(message_id=wamid, status=status, recipient_id=wa_id, **error)
        return await self.meta_post(
            whatsapp_payload(statuses=[item], phone_number_id=PHONE_NUMBER_ID)
        )

    # -- what the gateway recorded (REST API) ----------------------------------------------

    async def find_customer(self, identity: str) -> tuple[int, Any]:
        """GET /api/v1/customers?identity=… with the identity percent-encoded."""
        return await self.gw.api("/api/v1/customers?identity=" + quote(identity, safe=":"))

    async def customer_id(self, identity: str, timeout: float = 10.0) -> int:
        async def found() -> int | None:
            status, body = await self.find_customer(identity)
            return int(body["id"]) if status == 200 else None

        return int(await self.gw.wait_for(found, timeout=timeout))

    async def transcript_of(self, identity: str) -> list[Message] | None:
        """The identity's transcript, or None when no customer has that identity."""
        status, body = await self.find_customer(identity)
        if status == 404:
            return None
        assert status == 200, body
        return await self.gw.transcript(int(body["id"]))

    async def wait_transcript(
        self,
        customer_id: int,
        predicate: Callable[[list[Message]], bool],
        timeout: float = 10.0,
    ) -> list[Message]:
        """Poll the transcript until `predicate` holds; returns that transcript."""
        last: list[list[Message]] = [[]]

        async def check() -> list[Message] | None:
            messages = await self.gw.transcript(customer_id)
            last[0] = messages
            return messages if predicate(messages) else None

        try:
            return list(await self.gw.wait_for(check, timeout=timeout))
        except AssertionError as exc:
            summary = [
                (m["direction"], m["channel"], m["kind"], m["text"][:40], m["delivery_status"])
                for m in last[0]
            ]
            raise AssertionError(f"{exc}; transcript was {summary}") from None


def outbound(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["direction"] == "out"]


def inbound(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["direction"] == "in"]


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = ""
) -> None:
    """Wait for a condition on a fake's records (a plain or async predicate)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or predicate}")
        await asyncio.sleep(0.05)


async def settle(seconds: float = 0.3) -> None:
    """Give the gateway time to do something it should NOT do (a second reply, a send)."""
    await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def channel_stack(
    database_url: str,
    *,
    twilio_callbacks: bool = True,
    graph_callbacks: bool = True,
    callback_delay: float = 0.05,
    register_telegram_webhook: bool = True,
    twilio_class: type[FakeTwilio] = FakeTwilio,
    graph_class: type[FakeGraph] = FakeGraph,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """The three fakes and a gateway configured for them; everything stops afterwards.

    `callback_delay` is how long the fakes wait before each status callback (Twilio and Meta
    take tens of milliseconds at least); `twilio_class` may be a FakeTwilio subclass with
    another timing (`graph_class` likewise); `overrides` are gateway settings.
    """
    twilio = twilio_class(
        TWILIO_SID, TWILIO_TOKEN, status_callbacks=twilio_callbacks, callback_delay=callback_delay
    )
    graph = graph_class(
        GRAPH_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        app_secret=GRAPH_SECRET,
        status_callbacks=graph_callbacks,
        callback_delay=callback_delay,
    )
    telegram = FakeTelegram(TELEGRAM_TOKEN)
    fakes = (twilio, graph, telegram)
    for fake in fakes:
        await fake.start()
    settings: dict[str, Any] = {
        "twilio_account_sid": TWILIO_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_sms_from": SMS_FROM,
        "twilio_whatsapp_from": WA_FROM,
        "twilio_api_url": twilio.base_url,
        "whatsapp_token": GRAPH_TOKEN,
        "whatsapp_app_secret": GRAPH_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_api_url": graph.base_url,
        "telegram_token": TELEGRAM_TOKEN,
        "telegram_secret": TELEGRAM_SECRET,
        "telegram_api_url": telegram.base_url,
        "outbox_poll_interval": 0.1,
        "provider_timeout": 2.0,
    }
    settings.update(overrides)
    try:
        async with start_gateway(database_url, **settings) as gw:
            graph.webhook_url = gw.base_url + "/webhooks/whatsapp"
            if register_telegram_webhook and settings.get("telegram_mode") != "polling":
                adapter = gw.runtime.adapters["telegram"]
                await adapter.set_webhook()  # type: ignore[attr-defined]
            yield Stack(gw, twilio, graph, telegram)
            # Status callbacks still on their way are delivered before the gateway stops.
            for fake in (twilio, graph):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(fake.drain(), 5.0)
    finally:
        for fake in fakes:
            await fake.stop()
