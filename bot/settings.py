"""Configuration from `OMNIGATE_*` environment variables (every one is listed in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///omnigate.db"
    redis_url: str = ""
    # Transactions each kind of write (ingest, turn reads, turn writes) runs at once per worker,
    # on PostgreSQL (SQLite has one writer). One is fastest on a near database: batches grow,
    # so every message costs fewer round trips (see README, Benchmark).
    db_writers: int = 1
    # Prefix of every Redis key and channel: several deployments may share one Redis.
    redis_prefix: str = "omnigate:"
    public_url: str = ""
    api_token: str = ""
    log_level: str = "INFO"
    log_format: str = "text"  # text | json
    event_loop: str = "auto"  # auto (uvloop when installed) | uvloop | asyncio
    max_body_bytes: int = 1_048_576
    # Web chat
    webchat_max_text: int = 4096
    webchat_burst_limit: int = 100
    webchat_burst_window: float = 10.0
    webchat_identity_secret: str = ""
    # Bot
    default_language: str = "tr"
    default_region: str = "TR"
    # Identity linking
    link_code_ttl: float = 900.0
    otp_ttl: float = 600.0
    telegram_bot_username: str = ""
    # The WhatsApp number customers write to, for wa.me links (E.164); defaults to the Twilio one.
    whatsapp_number: str = ""
    # Outbox
    outbox_max_attempts: int = 10
    outbox_poll_interval: float = 1.0
    # Sends in flight at once per worker (different conversations; each sends in order).
    outbox_concurrency: int = 64
    # First retry waits up to this many seconds (full jitter), doubling per attempt, cap 300 s.
    outbox_backoff_base: float = 1.0
    # Seconds a sender owns a row it is sending; a dead worker's rows go to another after it.
    outbox_lease: float = 60.0
    # Seconds a worker owns a conversation's turns; a dead worker's ones move after it.
    turn_lock_ttl: float = 60.0
    shutdown_grace: float = 10.0
    # Seconds a provider API call may take before it is retried later.
    provider_timeout: float = 10.0
    turn_concurrency: int = 64
    # Human hand-off: seconds a queued conversation may wait unclaimed, then what happens
    # (`queue`: the customer is told and it stays queued; `bot`: the bot takes it back).
    handoff_timeout: float = 300.0
    handoff_fallback: str = "queue"
    # Telegram
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: str = "webhook"  # webhook | polling
    telegram_send_rate: float = 30.0
    telegram_allow_groups: bool = False
    # Twilio
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    twilio_send_rate: float = 100.0
    # Secret of a Twilio "shared key" webhook signature (HMAC-SHA256), when one is configured.
    twilio_webhook_secret: str = ""
    sms_max_segments: int = 6
    # WhatsApp Cloud API
    whatsapp_token: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_send_rate: float = 80.0
    # Template sent when the 24 h window is closed (empty: move to another channel or hold).
    whatsapp_reengage_template: str = ""
    whatsapp_reengage_content_sid: str = ""
    # Slack
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_channel: str = ""
    slack_api_url: str = "https://slack.com/api/"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"OMNIGATE_{f.name.upper()}")
            if raw is None:
                continue
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def public_base(self) -> str:
        """The URL providers call, without a trailing slash."""
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/")
