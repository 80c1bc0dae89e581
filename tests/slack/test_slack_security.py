"""Only Slack may speak for Slack: every request to the Slack webhooks must carry a valid
`v0=` signature of this workspace's signing secret over `v0:{timestamp}:{body}`, with a
timestamp within 300 s. Anything else is 401 and changes nothing."""

from __future__ import annotations

import json
import time

import pytest

from adapters.fakes import (
    block_actions_payload,
    event_callback,
    message_event,
    send_slack_event,
    send_slack_interaction,
    sign_slack,
    url_verification_payload,
)
from adapters.fakes.slack import DEFAULT_CHANNEL
from adapters.fakes.slack_events import DEFAULT_SIGNING_SECRET
from tests.channels.stack import settle
from tests.handoff.helpers import conversation, create_agent, thread, wait_state
from tests.slack.stack import AGENT_EMAIL, AGENT_USER, SlackStack, slack_stack

SECRET = DEFAULT_SIGNING_SECRET


def _reply_payload(thread_ts: str, text: str) -> dict:
    event = message_event(DEFAULT_CHANNEL, AGENT_USER, text, thread_ts=thread_ts)
    return event_callback(event)


def _forgeries(body: bytes) -> dict[str, dict]:
    now = int(time.time())
    stale = now - 301
    return {
        "another secret": {"signature": sign_slack("not-the-secret", now, body)},
        "tampered": {"signature": sign_slack(SECRET, now, body + b" ")},
        "stale": {"timestamp": stale, "signature": sign_slack(SECRET, stale, body)},
        "from the future": {
            "timestamp": now + 400,
            "signature": sign_slack(SECRET, now + 400, body),
        },
        "no signature": {"signature": None},
        "no timestamp": {"timestamp": None},
        "timestamp not a number": {
            "timestamp": "soon",
            "signature": sign_slack(SECRET, "soon", body),
        },
        "v1 scheme": {"signature": "v1=" + sign_slack(SECRET, now, body)[3:]},
    }


async def _ready(s: SlackStack) -> tuple[int, str]:
    await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
    s.slack.add_user(AGENT_USER, AGENT_EMAIL, "Mehmet Demir")
    cid, root = await s.customer_asks_for_a_person()
    return cid, root["ts"]


async def _rejected_count(s: SlackStack) -> float:
    async with s.gw.http.get(s.gw.base_url + "/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith('omnigate_webhooks_rejected_total{provider="slack",status="401"}'):
            return float(line.split()[-1])
    return 0.0


async def test_unsigned_or_forged_events_are_refused(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        cid, ts = await _ready(s)
        body = json.dumps(_reply_payload(ts, "Sahte mesaj: şifrenizi gönderin")).encode()
        forgeries = _forgeries(body)
        for name, headers in forgeries.items():
            answer = await send_slack_event(s.events_url, body, SECRET, **headers)
            assert answer.status == 401, (name, answer)
        await settle(0.8)
        assert len(s.sent()) == 1  # only the bot's hand-off message
        assert (await conversation(s.gw, cid))["state"] == "queued"
        assert not [m for m in await thread(s.gw, cid) if m["sender"] == "agent"]
        assert not s.slack.calls_to("users.info")
        assert await _rejected_count(s) == len(forgeries)

        # The same body, signed properly, is a reply.
        answer = await send_slack_event(s.events_url, body, SECRET)
        assert answer.status == 200


async def test_forged_button_presses_are_refused(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        cid, ts = await _ready(s)
        root = s.slack.message(ts)
        actions = next(b for b in root["blocks"] if b["type"] == "actions")
        claim = next(e for e in actions["elements"] if e["action_id"] == "omnigate_claim")
        payload = block_actions_payload(
            user=AGENT_USER,
            channel=DEFAULT_CHANNEL,
            message=root,
            action=claim,
            block_id=actions["block_id"],
        )
        stale = int(time.time()) - 600
        for headers in ({"signature": "v0=" + "0" * 64}, {"timestamp": stale}, {"signature": None}):
            answer = await send_slack_interaction(s.interactivity_url, payload, SECRET, **headers)
            assert answer.status == 401, headers
        await settle(0.5)
        assert (await conversation(s.gw, cid))["state"] == "queued"

        answer = await send_slack_interaction(s.interactivity_url, payload, SECRET)
        assert answer.status == 200
        claimed = await wait_state(s.gw, cid, "agent")
        assert claimed["assignee"]["name"] == "Mehmet"


@pytest.mark.parametrize("signed", [True, False])
async def test_url_verification(sqlite_url: str, signed: bool) -> None:
    async with slack_stack(sqlite_url) as s:
        payload = url_verification_payload("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        headers = {} if signed else {"signature": None}
        answer = await send_slack_event(s.events_url, payload, SECRET, **headers)
        if signed:
            assert answer.status == 200
            assert json.loads(answer.body) == {"challenge": payload["challenge"]}
        else:
            assert answer.status == 401
            assert payload["challenge"] not in answer.body
