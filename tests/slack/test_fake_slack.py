"""The Slack fake speaks Slack's wire format: checked with slack_sdk's own client and its own
signature verifier (the reference implementations), not with our code."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.fakes import FakeSlack, event_callback, message_event, slack_headers
from adapters.fakes.slack import BOT_USER, DEFAULT_CHANNEL, DEFAULT_TOKEN
from adapters.fakes.slack_events import DEFAULT_SIGNING_SECRET


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


def client(fake: FakeSlack, token: str = DEFAULT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


async def test_web_api_shapes(fake: FakeSlack) -> None:
    web = client(fake)
    me = await web.auth_test()
    assert me["ok"] and me["user_id"] == BOT_USER and me["bot_id"]
    posted = await web.chat_postMessage(
        channel=DEFAULT_CHANNEL,
        text="fallback",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}],
    )
    assert posted["ok"] and posted["channel"] == DEFAULT_CHANNEL and posted["ts"]
    reply = await web.chat_postMessage(
        channel=DEFAULT_CHANNEL, text="in thread", thread_ts=posted["ts"]
    )
    assert fake.thread(posted["ts"])[0]["ts"] == reply["ts"]
    updated = await web.chat_update(channel=DEFAULT_CHANNEL, ts=posted["ts"], text="changed")
    assert updated["ts"] == posted["ts"] and fake.message(posted["ts"])["text"] == "changed"
    fake.add_user("U0AYSE0001", "ayse@example.com", "Ayşe")
    info = await web.users_info(user="U0AYSE0001")
    assert info["user"]["profile"]["email"] == "ayse@example.com"
    ephemeral = await web.chat_postEphemeral(channel=DEFAULT_CHANNEL, user="U0AYSE0001", text="x")
    assert ephemeral["message_ts"] and fake.ephemerals[0]["user"] == "U0AYSE0001"
    replies = await web.conversations_replies(channel=DEFAULT_CHANNEL, ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda web: web.chat_postMessage(channel="C0NOWHERE", text="x"), "channel_not_found"),
        (lambda web: web.chat_postMessage(channel=DEFAULT_CHANNEL), "no_text"),
        (
            lambda web: web.chat_update(channel=DEFAULT_CHANNEL, ts="1.2", text="x"),
            "message_not_found",
        ),
        (lambda web: web.users_info(user="U0NOBODY00"), "user_not_found"),
        (
            lambda web: web.chat_postMessage(
                channel=DEFAULT_CHANNEL,
                text="x",
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
            ),
            "invalid_blocks",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_web_api_errors(fake: FakeSlack, call, error: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as raised:
        await call(client(fake))
    assert raised.value.response.status_code == 200 and raised.value.response["error"] == error


async def test_tokens_are_checked(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        await client(fake, "xoxb-wrong").auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=fake.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"


async def test_scripted_rate_limit(fake: FakeSlack) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await client(fake).chat_postMessage(channel=DEFAULT_CHANNEL, text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert (await client(fake).chat_postMessage(channel=DEFAULT_CHANNEL, text="x"))["ok"]


def test_requests_are_signed_like_slack_signs_them() -> None:
    body = json.dumps(
        event_callback(message_event(DEFAULT_CHANNEL, "U0AYSE0001", "merhaba"))
    ).encode()
    verifier = SignatureVerifier(DEFAULT_SIGNING_SECRET)
    assert verifier.is_valid_request(body, slack_headers(DEFAULT_SIGNING_SECRET, body))
    stale = slack_headers(DEFAULT_SIGNING_SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)
    assert not verifier.is_valid_request(body, slack_headers("another-secret", body))
    retry = slack_headers(DEFAULT_SIGNING_SECRET, body, retry_num=2, retry_reason="http_error")
    assert (retry["X-Slack-Retry-Num"], retry["X-Slack-Retry-Reason"]) == ("2", "http_error")
