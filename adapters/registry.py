"""Which adapters run, built from the settings.

Only configured providers are imported: aiogram alone takes seconds to import, and a gateway
without a Telegram token should not pay for it.
"""

from __future__ import annotations

from adapters.base import ChannelAdapter
from adapters.webchat import WebchatAdapter
from bot.settings import Settings

# Webhook paths of the providers, so a call to an unconfigured one gets a clear answer.
WEBHOOK_PATHS = {
    "/webhooks/telegram": "telegram",
    "/webhooks/twilio": "twilio",
    "/webhooks/whatsapp": "whatsapp_cloud",
}


def build_adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    adapters: list[ChannelAdapter] = [WebchatAdapter(max_text=settings.webchat_max_text)]
    if settings.twilio_account_sid and settings.twilio_auth_token:
        from adapters.twilio import TwilioAdapter

        adapters.append(TwilioAdapter(settings, timeout=settings.provider_timeout))
    if settings.whatsapp_token and settings.whatsapp_app_secret:
        from adapters.whatsapp_cloud import WhatsAppCloudAdapter

        adapters.append(WhatsAppCloudAdapter(settings, timeout=settings.provider_timeout))
    if settings.telegram_token:
        from adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(settings, request_timeout=settings.provider_timeout))
    return {adapter.name: adapter for adapter in adapters}
