"""Generated provider credentials and fixed simulated numbers for one simulation run.

Every run makes new tokens and secrets, so nothing a real provider issued is ever used (or
needed) and a simulation's signatures are worthless anywhere else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from adapters.fakes.graph_webhooks import TEST_DISPLAY_NUMBER, TEST_PHONE_NUMBER_ID
from adapters.fakes.telegram_updates import TgUser

# The brand's simulated numbers and bot (Twilio's magic test number, its WhatsApp sandbox
# number, a Meta test number): recognisably not a real business.
SMS_FROM = "+15005550006"
TWILIO_WHATSAPP_FROM = "+14155238886"
WHATSAPP_PHONE_NUMBER_ID = TEST_PHONE_NUMBER_ID
WHATSAPP_DISPLAY_NUMBER = TEST_DISPLAY_NUMBER  # digits, as Meta writes it in webhooks
TELEGRAM_BOT = TgUser(
    id=7_000_000_001,
    first_name="Omnigate Demo",
    last_name="",
    username="omnigate_demo_bot",
    language_code="",
    is_bot=True,
)


@dataclass(frozen=True, slots=True)
class SimCredentials:
    twilio_account_sid: str
    twilio_auth_token: str
    graph_token: str
    graph_app_secret: str
    graph_verify_token: str
    telegram_token: str
    telegram_secret: str
    api_token: str  # the REST API's admin token in this run

    @classmethod
    def generate(cls) -> SimCredentials:
        return cls(
            twilio_account_sid="AC" + secrets.token_hex(16),
            twilio_auth_token=secrets.token_hex(16),
            graph_token="EAAG" + secrets.token_urlsafe(32),
            graph_app_secret=secrets.token_hex(16),
            graph_verify_token=secrets.token_urlsafe(16),
            telegram_token=f"{TELEGRAM_BOT.id}:{secrets.token_urlsafe(26)}",
            telegram_secret=secrets.token_urlsafe(24),
            api_token="sim_" + secrets.token_urlsafe(24),
        )
