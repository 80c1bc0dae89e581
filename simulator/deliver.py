"""A simulated customer's message, delivered to the gateway as the provider would deliver it.

Twilio: form parameters signed with X-Twilio-Signature over the public URL. WhatsApp Cloud:
Meta's JSON, signed with X-Hub-Signature-256. Telegram: the update POSTed by FakeTelegram to
the webhook the gateway registered with setWebhook, with its secret token header. The
gateway's answer is the message's status on the phone: received (2xx) or rejected.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from adapters.fakes import (
    WebhookResponse,
    send_meta_webhook,
    send_twilio_webhook,
    twilio_inbound_params,
    whatsapp_location_payload,
    whatsapp_media_payload,
    whatsapp_reply_payload,
    whatsapp_text_payload,
)
from adapters.fakes.telegram_updates import TgUser
from simulator import media
from simulator.credentials import (
    SMS_FROM,
    TWILIO_WHATSAPP_FROM,
    WHATSAPP_DISPLAY_NUMBER,
    WHATSAPP_PHONE_NUMBER_ID,
)
from simulator.feed import Feed, Item
from simulator.personas import persona_by_phone, telegram_user
from simulator.phone_events import PhoneMessage
from simulator.providers import SimulatedProviders
from simulator.send_request import CustomerSend

log = logging.getLogger("omnigate.simulator")

KADIKOY = (40.9903, 29.0290)
WA_IDS = {
    "phone_number_id": WHATSAPP_PHONE_NUMBER_ID,
    "display_phone_number": WHATSAPP_DISPLAY_NUMBER,
}


class Deliverer:
    def __init__(self, providers: SimulatedProviders, feed: Feed, gateway_url: str) -> None:
        self._providers = providers
        self._feed = feed
        self._gateway = gateway_url
        self._http: ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _session(self) -> ClientSession:
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=15))
        return self._http

    async def send(self, request: CustomerSend) -> Item:
        """Show the message on the phone, deliver it, then mark it received or rejected."""
        item = self._feed.add_message(self._shown(request))
        try:
            answer = await self._deliver(request)
        except (ClientError, TimeoutError, OSError) as exc:
            self._feed.set_status(item["id"], "failed", f"gateway unreachable: {exc}")
            return item
        if 200 <= answer.status < 300:
            self._feed.set_status(item["id"], "received", http=answer.status)
        else:
            error = f"HTTP {answer.status}: {answer.body[:200]}"
            self._feed.set_status(item["id"], "rejected", error, http=answer.status)
            log.warning("[simulation] the gateway refused a %s webhook: %s", request.channel, error)
        return item

    # -- what the phone shows -------------------------------------------------------------

    def _shown(self, request: CustomerSend) -> PhoneMessage:
        via = "telegram" if request.channel == "telegram" else "twilio"
        if request.channel == "whatsapp":
            via = request.via
        shown = PhoneMessage(
            channel=request.channel,
            direction="in",
            peer=request.sender,
            via=via,
            text=request.text,
            status="sending",
        )
        if request.button is not None:
            shown.text = request.button.title
            shown.extra["button"] = request.button.payload
        elif request.attachment == "photo":
            shown.media = [{"url": media.PATH, "type": "image", "caption": ""}]
        elif request.attachment == "location":
            shown.extra["location"] = {"latitude": KADIKOY[0], "longitude": KADIKOY[1]}
            shown.text = shown.text or "Kadıköy, İstanbul"
        elif request.attachment == "contact":
            shown.extra["contact"] = request.contact_phone
            shown.text = f"Contact: {request.contact_phone}"
        return shown

    # -- the provider's side --------------------------------------------------------------

    async def _deliver(self, request: CustomerSend) -> WebhookResponse:
        if request.channel == "telegram":
            return await self._telegram(request)
        if request.channel == "whatsapp":
            # The customer wrote: the 24-hour window is open again at the provider too.
            self._providers.graph.closed_window.discard(request.sender.lstrip("+"))
            self._providers.twilio.closed_window.discard(request.sender)
            if request.via == "cloud":
                return await self._cloud(request)
        return await self._twilio(request)

    async def _twilio(self, request: CustomerSend) -> WebhookResponse:
        whatsapp = request.channel == "whatsapp"
        prefix = "whatsapp:" if whatsapp else ""
        persona = persona_by_phone(request.sender)
        fields: dict[str, Any] = {}
        if request.attachment == "photo":
            fields["media"] = [(self._gateway + media.PATH, media.CONTENT_TYPE)]
        elif request.attachment == "location":
            fields.update(latitude=KADIKOY[0], longitude=KADIKOY[1], label="Kadıköy")
        if request.button is not None:
            fields.update(button_payload=request.button.payload, button_text=request.button.title)
        params = twilio_inbound_params(
            from_=prefix + request.sender,
            to=prefix + (TWILIO_WHATSAPP_FROM if whatsapp else SMS_FROM),
            body=request.button.title if request.button else request.text,
            account_sid=self._providers.credentials.twilio_account_sid,
            profile_name=persona.name if persona and whatsapp else "",
            **fields,
        )
        return await send_twilio_webhook(
            self._gateway + "/webhooks/twilio",
            params,
            self._providers.credentials.twilio_auth_token,
            session=self._session(),
        )

    async def _cloud(self, request: CustomerSend) -> WebhookResponse:
        wa_id = request.sender.lstrip("+")
        persona = persona_by_phone(request.sender)
        name = persona.name if persona else ""
        payload: dict[str, Any]
        if request.button is not None:
            payload = whatsapp_reply_payload(
                wa_id=wa_id,
                reply_id=request.button.payload,
                title=request.button.title,
                list_reply=request.button.kind == "list",
                profile_name=name,
                context_id=request.button.reply_to,
                **WA_IDS,
            )
        elif request.attachment == "photo":
            payload = whatsapp_media_payload(
                wa_id=wa_id, caption=request.text, profile_name=name, **WA_IDS
            )
        elif request.attachment == "location":
            payload = whatsapp_location_payload(
                wa_id=wa_id,
                latitude=KADIKOY[0],
                longitude=KADIKOY[1],
                name="Kadıköy",
                address="Kadıköy, İstanbul",
                profile_name=name,
                **WA_IDS,
            )
        else:
            payload = whatsapp_text_payload(
                wa_id=wa_id, text=request.text, profile_name=name, **WA_IDS
            )
        return await send_meta_webhook(
            self._gateway + "/webhooks/whatsapp",
            payload,
            self._providers.credentials.graph_app_secret,
            session=self._session(),
        )

    async def _telegram(self, request: CustomerSend) -> WebhookResponse:
        user = telegram_user(request.telegram_id) or TgUser(
            id=request.telegram_id, first_name="Müşteri", last_name=str(request.telegram_id)
        )
        updates = self._providers.telegram.updates
        if request.button is not None:
            message_id = request.button.reply_to.rpartition(":")[2]
            update = updates.callback(
                request.button.payload,
                title=request.button.title,
                message_id=int(message_id) if message_id.isdigit() else 1,
                user=user,
            )
        elif request.attachment == "photo":
            update = updates.photo(caption=request.text, user=user)
        elif request.attachment == "location":
            update = updates.location(*KADIKOY, user=user)
        elif request.attachment == "contact":
            update = updates.contact(request.contact_phone, own=True, user=user)
        else:
            update = updates.text(request.text, user=user)
        return await self._providers.telegram.deliver(update, session=self._session())
