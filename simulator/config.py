"""The gateway's settings in simulate mode: every provider setting points at the fakes.

Whatever OMNIGATE_* variables the user set for real providers (tokens, secrets, API URLs,
Slack) are replaced, and so are the database (a throwaway SQLite file), Redis (in-process),
the public URL and the API token: a simulation can never reach a real provider, a real
database or a real customer. `overridden_env` names what was ignored, for the log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields, replace

from bot.settings import Settings
from simulator.credentials import (
    SMS_FROM,
    TELEGRAM_BOT,
    TWILIO_WHATSAPP_FROM,
    WHATSAPP_DISPLAY_NUMBER,
    WHATSAPP_PHONE_NUMBER_ID,
    SimCredentials,
)
from simulator.providers import SimulatedProviders

PROVIDER_PREFIXES = ("telegram_", "twilio_", "whatsapp_", "slack_")
# Settings a simulation always owns, whatever the environment says.
OWNED = ("host", "public_url", "database_url", "redis_url", "api_token")


def simulation_settings(
    base: Settings,
    providers: SimulatedProviders,
    *,
    host: str,
    port: int,
    database_url: str,
) -> Settings:
    creds: SimCredentials = providers.credentials
    defaults = Settings()
    # Provider settings start from their defaults (no real token, URL or Slack survives)...
    reset = {
        f.name: getattr(defaults, f.name) for f in fields(Settings) if _provider_setting(f.name)
    }
    # ...then point at the fakes with this run's credentials.
    simulated: dict[str, object] = {
        **reset,
        "host": host,
        "port": port,
        "public_url": f"http://127.0.0.1:{port}",
        "database_url": database_url,
        "redis_url": "",
        "api_token": creds.api_token,
        "twilio_account_sid": creds.twilio_account_sid,
        "twilio_auth_token": creds.twilio_auth_token,
        "twilio_sms_from": SMS_FROM,
        "twilio_whatsapp_from": TWILIO_WHATSAPP_FROM,
        "twilio_api_url": providers.twilio.base_url,
        "whatsapp_token": creds.graph_token,
        "whatsapp_app_secret": creds.graph_app_secret,
        "whatsapp_verify_token": creds.graph_verify_token,
        "whatsapp_phone_number_id": WHATSAPP_PHONE_NUMBER_ID,
        "whatsapp_api_url": providers.graph.base_url,
        "whatsapp_number": "+" + WHATSAPP_DISPLAY_NUMBER,
        "telegram_token": creds.telegram_token,
        "telegram_secret": creds.telegram_secret,
        "telegram_api_url": providers.telegram.base_url,
        "telegram_mode": "webhook",
        "telegram_bot_username": TELEGRAM_BOT.username,
    }
    return replace(base, **simulated)  # type: ignore[arg-type]


def overridden_env(env: Mapping[str, str] | None = None) -> list[str]:
    """The OMNIGATE_* variables set in the environment that simulate mode ignores."""
    env = os.environ if env is None else env
    names = [
        f"OMNIGATE_{f.name.upper()}"
        for f in fields(Settings)
        if _provider_setting(f.name) or f.name in OWNED
    ]
    return sorted(name for name in names if name in env)


def _provider_setting(name: str) -> bool:
    """A real provider's setting (send rates are pacing, kept as the user set them)."""
    return name.startswith(PROVIDER_PREFIXES) and not name.endswith("_send_rate")
