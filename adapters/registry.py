"""Which adapters exist, built from the settings."""

from __future__ import annotations

from adapters.base import ChannelAdapter
from adapters.webchat import WebchatAdapter
from bot.settings import Settings


def build_adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    from adapters.telegram import TelegramAdapter
    from adapters.twilio import TwilioAdapter
    from adapters.whatsapp_cloud import WhatsAppCloudAdapter

    adapters: list[ChannelAdapter] = [
        WebchatAdapter(max_text=settings.webchat_max_text),
        TwilioAdapter(settings),
        WhatsAppCloudAdapter(settings),
        TelegramAdapter(settings),
    ]
    return {adapter.name: adapter for adapter in adapters}
