"""What Slack sends that must not reach a customer: the bot's own posts (however Slack marks
them), other bots, people who are not agents, messages outside a hand-off thread, edits."""

from __future__ import annotations

from adapters.fakes import message_event
from adapters.fakes.slack import BOT_ID, BOT_USER, DEFAULT_CHANNEL
from tests.channels.stack import eventually, settle
from tests.handoff.helpers import conversation, create_agent, thread
from tests.slack.stack import AGENT_EMAIL, AGENT_USER, STRANGER, SlackStack, slack_stack


async def _agent_and_thread(s: SlackStack) -> tuple[int, str]:
    await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
    s.slack.add_user(AGENT_USER, AGENT_EMAIL, "Mehmet Demir")
    cid, root = await s.customer_asks_for_a_person()
    return cid, root["ts"]


async def _nothing_happened(s: SlackStack, cid: int) -> None:
    await settle(0.8)
    assert len(s.sent()) == 1  # only the bot's hand-off message
    assert (await conversation(s.gw, cid))["state"] == "queued"
    assert not [m for m in await thread(s.gw, cid) if m["sender"] == "agent"]


async def test_bot_messages_are_ignored(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        cid, ts = await _agent_and_thread(s)
        await eventually(lambda: len(s.slack.echoes) >= 1, what="the echo of the root")
        shapes = {
            # chat.postMessage by our app, as Slack echoes it: bot_id and our bot user.
            "ours": {"user": BOT_USER, "bot_id": BOT_ID, "app_id": "A0OMNIGATE"},
            # A legacy bot message: subtype and bot_id, no user.
            "bot_message": {"subtype": "bot_message", "bot_id": "B0LEGACY", "user": None},
            # Our user id without a bot_id (a message of the bot user itself).
            "own user": {"user": BOT_USER},
            # Someone else's app.
            "other app": {"user": "U0OTHERBOT", "bot_id": "B0OTHER"},
        }
        for name, fields in shapes.items():
            event = message_event(DEFAULT_CHANNEL, AGENT_USER, f"bot says {name}", thread_ts=ts)
            event.update(fields)
            answer = await s.slack.send_event(s.slack.envelope(event))
            assert answer.status == 200, name
        await _nothing_happened(s, cid)
        assert all(echo.status == 200 for echo in s.slack.echoes)
        assert not s.slack.calls_to("users.info")  # nobody was even looked up


async def test_a_slack_user_who_is_not_an_agent_sends_nothing(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        cid, ts = await _agent_and_thread(s)
        s.slack.add_user(STRANGER, "meraklı@example.com", "Meraklı Kedi")
        answer, _payload = await s.slack.user_replies(STRANGER, ts, "Merhaba, ben de yardım edeyim")
        assert answer.status == 200
        await eventually(lambda: s.slack.ephemerals, what="the notice to the stranger")
        (notice,) = s.slack.ephemerals
        assert notice["user"] == STRANGER and notice["thread_ts"] == ts
        assert "not an Omnigate agent" in notice["text"]
        await _nothing_happened(s, cid)

        # Nor may they press the buttons.
        assert (await s.slack.press(STRANGER, ts, "omnigate_claim")).status == 200
        await eventually(lambda: len(s.slack.ephemerals) == 2, what="the second notice")
        await _nothing_happened(s, cid)

        # Someone Slack does not know at all (users.info: user_not_found) likewise.
        await s.slack.user_replies("U0NOBODY00", ts, "hello?")
        await _nothing_happened(s, cid)


async def test_messages_outside_hand_off_threads_are_ignored(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        cid, ts = await _agent_and_thread(s)
        in_channel = message_event(DEFAULT_CHANNEL, AGENT_USER, "günaydın ekip")
        other_thread = message_event(
            DEFAULT_CHANNEL, AGENT_USER, "başka konu", thread_ts="1700000000.000100"
        )
        edited = message_event(
            DEFAULT_CHANNEL,
            AGENT_USER,
            "",
            thread_ts=ts,
            subtype="message_changed",
            message={"type": "message", "user": AGENT_USER, "text": "düzeltme", "ts": ts},
        )
        joined = message_event(DEFAULT_CHANNEL, AGENT_USER, "joined", subtype="channel_join")
        reaction = {
            "type": "reaction_added",
            "user": AGENT_USER,
            "reaction": "eyes",
            "item": {"type": "message", "channel": DEFAULT_CHANNEL, "ts": ts},
        }
        for event in (in_channel, other_thread, edited, joined, reaction):
            answer = await s.slack.send_event(s.slack.envelope(event))
            assert answer.status == 200, event
        await _nothing_happened(s, cid)
