"""The Slack side of an app's webhooks: Events API callbacks and interactivity payloads,
built like Slack builds them and signed exactly like Slack signs them.

Signature: `X-Slack-Signature: v0=` + hex HMAC-SHA256(signing secret, `v0:{ts}:{raw body}`)
with `X-Slack-Request-Timestamp: {ts}` (Unix seconds). Slack retries a callback that got no
2xx within 3 s with the same `event_id`, adding `X-Slack-Retry-Num` and
`X-Slack-Retry-Reason` (`http_timeout`, `http_error`, …).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import string
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession

from adapters.fakes.common import WebhookResponse, post_webhook

DEFAULT_TEAM = "T0OMNIGATE"
DEFAULT_APP = "A0OMNIGATE"
DEFAULT_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

# `signature=SIGN` / `timestamp=NOW` (the defaults): compute them; None: leave the header out.
SIGN = "<sign>"
NOW = "<now>"

_ts_counter = itertools.count(1)


def new_ts(at: float | None = None) -> str:
    """A message ts: Unix seconds and a per-process sequence, unique and increasing."""
    return f"{int(at if at is not None else time.time())}.{next(_ts_counter) % 1_000_000:06d}"


def new_event_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "Ev" + "".join(secrets.choice(alphabet) for _ in range(10))


def sign_slack(secret: str, timestamp: int | str, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(
    secret: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    timestamp: int | str | None = NOW,
    signature: str | None = SIGN,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """Headers of a Slack request; `timestamp=int(time.time()) - 600` makes a stale one,
    `signature="v0=…"` a forged one, None leaves the header out."""
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    ts = str(int(time.time())) if timestamp == NOW else timestamp
    if ts is not None:
        headers["X-Slack-Request-Timestamp"] = str(ts)
    if signature == SIGN:
        signature = sign_slack(secret, ts if ts is not None else "", body)
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers


# -- payloads ------------------------------------------------------------------------------


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    team: str = DEFAULT_TEAM,
    **fields: Any,
) -> dict[str, Any]:
    """A `message` event as `message.channels` delivers it (`fields`: subtype, bot_id, …)."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "team": team,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": [
            {
                "type": "rich_text",
                "block_id": secrets.token_hex(3),
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        if parent_user_id:
            event["parent_user_id"] = parent_user_id
    event.update(fields)
    return event


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM,
    api_app_id: str = DEFAULT_APP,
    bot_user_id: str = "",
) -> dict[str, Any]:
    """The Events API envelope around `event`."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(float(event.get("event_ts") or time.time())),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def url_verification_payload(challenge: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "challenge": challenge or secrets.token_urlsafe(32),
        "type": "url_verification",
    }


def block_actions_payload(
    *,
    user: str,
    channel: str,
    message: dict[str, Any],
    action: dict[str, Any],
    block_id: str,
    team_id: str = DEFAULT_TEAM,
    api_app_id: str = DEFAULT_APP,
    user_name: str = "",
) -> dict[str, Any]:
    """A `block_actions` payload: `user` pressed `action` (a button of `message`)."""
    return {
        "type": "block_actions",
        "user": {
            "id": user,
            "username": user_name or user.lower(),
            "name": user_name or user.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
        },
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "team": {"id": team_id, "domain": "omnigate-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "handoff"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{team_id}/{secrets.token_hex(6)}",
        "actions": [
            {
                "action_id": action["action_id"],
                "block_id": block_id,
                "text": action.get("text", {"type": "plain_text", "text": ""}),
                "value": action.get("value", ""),
                "type": action.get("type", "button"),
                "action_ts": f"{time.time():.6f}",
                **({"style": action["style"]} if action.get("style") else {}),
            }
        ],
    }


# -- sending -------------------------------------------------------------------------------


async def send_slack_event(
    url: str,
    payload: dict[str, Any] | bytes,
    secret: str,
    *,
    session: ClientSession | None = None,
    **header_options: Any,
) -> WebhookResponse:
    """POST an Events API callback (JSON), signed; `header_options` go to `slack_headers`."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = slack_headers(secret, body, **header_options)
    return await post_webhook(url, body, headers, session=session)


async def send_slack_interaction(
    url: str,
    payload: dict[str, Any],
    secret: str,
    *,
    session: ClientSession | None = None,
    **header_options: Any,
) -> WebhookResponse:
    """POST an interactivity payload (form field `payload` holding JSON), signed."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = slack_headers(
        secret, body, content_type="application/x-www-form-urlencoded", **header_options
    )
    return await post_webhook(url, body, headers, session=session)
