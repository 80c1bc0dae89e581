"""The thread follows the conversation wherever it is handled: console replies and notes are
mirrored in, a thread Slack could not open is opened by the next event, and the thread
outlives a restart of the gateway (replies still reach the customer; Slack's late retry of an
event from before the restart still sends nothing twice)."""

from __future__ import annotations

from adapters.fakes import FakeSlack
from tests.channels.stack import eventually, settle
from tests.handoff.helpers import create_agent, thread, wait_state
from tests.slack.stack import AGENT_EMAIL, AGENT_USER, block_text, slack_stack


async def test_console_replies_and_notes_are_mirrored(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        mehmet = await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
        cid, root = await s.customer_asks_for_a_person()
        ts = root["ts"]
        await mehmet.write(cid, "Merhaba <@channel> & hoş geldiniz")  # from the console / API
        reply = await s.line(ts, lambda m: "hoş geldiniz" in m["text"])
        # Escaped: what an agent or customer writes can never ping the channel or link.
        assert reply["text"] == (
            "*Mehmet* _(via api, to telegram)_: Merhaba &lt;@channel&gt; &amp; hoş geldiniz"
        )
        await s.line(ts, lambda m: "assigned to Mehmet" in m["text"])
        await mehmet.write(cid, "adres teyit edilecek", note=True)
        note = await s.line(ts, lambda m: "adres teyit" in m["text"])
        assert note["text"] == ":memo: *Note by Mehmet*: adres teyit edilecek"
        await eventually(lambda: len(s.sent()) == 2, what="the console reply on Telegram")
        await settle(0.5)
        # The bot's own answer is in the first message's transcript, never a line of its own.
        assert not [m for m in s.slack.thread(ts) if "temsilci" in m["text"]]


async def test_a_thread_slack_could_not_open_is_opened_later(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        channels = set(s.slack.channels)
        s.slack.channels.clear()  # the bot is not in the channel yet: channel_not_found
        await s.customer_says("canlı destek")
        # Both jobs of the hand-off (its system entry, its state) try, and fail.
        await eventually(lambda: len(s.slack.calls_to("chat.postMessage")) == 2, what="tries")
        await settle(0.3)
        assert not s.slack.roots()

        s.slack.channels.update(channels)  # someone invites the bot
        await s.customer_says("kimse yok mu?")
        await eventually(lambda: len(s.slack.roots()) == 1, what="the thread, opened late")
        summary = block_text(s.slack.roots()[0])
        assert "canlı destek" in summary and "kimse yok mu?" in summary
        await settle(0.5)
        assert not s.slack.thread(s.slack.roots()[0]["ts"])  # the transcript has it already


async def test_the_thread_outlives_a_restart(sqlite_url: str) -> None:
    slack = FakeSlack()
    async with slack_stack(sqlite_url, slack=slack) as s:
        await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
        slack.add_user(AGENT_USER, AGENT_EMAIL, "Mehmet Demir")
        cid, root = await s.customer_asks_for_a_person()
        _, payload = await slack.user_replies(AGENT_USER, root["ts"], "Bir dakika lütfen.")
        await eventually(lambda: len(s.sent()) == 2, what="the first reply")

    async with slack_stack(sqlite_url, slack=slack) as s:  # a new process, the same database
        # Slack's last retry of the old event arrives after the restart: the in-memory claim
        # is gone, the reply's client_key still holds.
        assert (await slack.redeliver(payload, retry_num=3)).status == 200
        answer, _ = await slack.user_replies(AGENT_USER, root["ts"], "Siparişiniz yolda.")
        assert answer.status == 200
        await eventually(lambda: len(s.sent()) == 1, what="the reply after the restart")
        assert s.sent()[0]["text"] == "Siparişiniz yolda."
        await settle(0.5)
        assert len(s.sent()) == 1
        assert len(slack.roots()) == 1  # no second thread for the same conversation
        await wait_state(s.gw, cid, "agent")
        replies = [m for m in await thread(s.gw, cid) if m["sender"] == "agent" and not m["note"]]
        assert [m["text"] for m in replies] == ["Bir dakika lütfen.", "Siparişiniz yolda."]
