"""The issue's acceptance flow with the agent in Slack, on both database backends: a customer
on Telegram asks for a person -> a thread opens in the Slack channel (summary, transcript,
buttons) -> the agent's reply in the thread reaches the customer on Telegram and claims the
conversation -> Slack's retry of that event sends nothing twice -> a `note:` stays internal
-> the customer's next message is mirrored, the bot stays silent -> Release gives the bot
back -> Close asks the customer for a rating."""

from __future__ import annotations

from tests.channels.stack import eventually, settle
from tests.handoff.helpers import conversation, create_agent, thread, wait_state
from tests.slack.stack import (
    AGENT_EMAIL,
    AGENT_USER,
    CUSTOMER,
    block_text,
    buttons,
    slack_stack,
)


async def test_agent_answers_from_slack(database_url: str) -> None:
    async with slack_stack(database_url) as s:
        mehmet = await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
        s.slack.add_user(AGENT_USER, "Mehmet@Example.com", "Mehmet Demir")

        cid, root = await s.customer_asks_for_a_person()
        assert (await conversation(s.gw, cid))["state"] == "queued"
        assert len(s.sent()) == 1  # the bot told the customer a person is coming
        summary = block_text(root)
        assert "Ayşe Yılmaz" in summary and f"#{cid}" in summary
        assert f"`telegram` {CUSTOMER.id}" in summary
        assert "the customer asked for a person" in summary and "Waiting for an agent" in summary
        assert "canlı destek" in summary  # the transcript
        assert s.sent()[0]["text"][:20] in summary.replace("&amp;", "&")  # the bot's answer
        assert buttons(root) == ["omnigate_claim", "omnigate_release", "omnigate_close"]
        ts = root["ts"]

        # The agent answers in the thread: the customer gets it on Telegram, Mehmet owns it.
        answer, payload = await s.slack.user_replies(
            AGENT_USER,
            ts,
            "Merhaba, ben Mehmet. Siparişinize bakıyorum &amp; <https://kargo.example/1|takip>",
        )
        assert answer.status == 200
        await eventually(lambda: len(s.sent()) == 2, what="the agent's reply on Telegram")
        assert int(s.sent()[1]["chat_id"]) == CUSTOMER.id
        assert s.sent()[1]["text"] == (
            "Merhaba, ben Mehmet. Siparişinize bakıyorum & takip (https://kargo.example/1)"
        )
        claimed = await wait_state(s.gw, cid, "agent")
        assert claimed["assignee"]["name"] == "Mehmet"
        await s.line(ts, lambda m: "assigned to Mehmet" in m["text"])
        await s.root_shows(ts, "omnigate_release", "omnigate_close")
        _, agents = await s.gw.api("/api/v1/agents")
        assert [a["slack_user_id"] for a in agents["agents"] if a["id"] == mehmet.id] == [
            AGENT_USER
        ]

        # Slack did not hear our 200 in time and sends the same event again.
        again = await s.slack.redeliver(payload, retry_num=1)
        assert again.status == 200
        third = await s.slack.redeliver(payload, retry_num=2, reason="http_error")
        assert third.status == 200
        await settle(0.8)
        assert len(s.sent()) == 2

        # `note:` stays in the thread for agents.
        await s.slack.user_replies(AGENT_USER, ts, "note: müşteri VIP, kargo ücretsiz")

        async def noted() -> bool:
            return any(m["note"] and m["sender"] == "agent" for m in await thread(s.gw, cid))

        await eventually(noted, what="the note in the thread")
        entries = await thread(s.gw, cid)
        (note,) = [m for m in entries if m["sender"] == "agent" and m["note"]]
        assert note["text"] == "müşteri VIP, kargo ücretsiz" and note["delivery_status"] is None
        replies = [m for m in entries if m["sender"] == "agent" and not m["note"]]
        assert len(replies) == 1  # the retries wrote nothing

        # The customer writes again: mirrored into the thread, and no bot reply.
        await s.customer_says("siparişim nerede")
        await s.line(ts, lambda m: "siparişim nerede" in m["text"])
        await settle(0.5)
        assert len(s.sent()) == 2

        # Release: the bot answers again.
        assert (await s.slack.press(AGENT_USER, ts, "omnigate_release")).status == 200
        await wait_state(s.gw, cid, "bot")
        await s.line(ts, lambda m: "handed back to the bot by Mehmet" in m["text"])
        await s.customer_says("siparişim nerede")
        await eventually(lambda: len(s.sent()) == 3, what="the bot again")
        assert "numara" in s.sent()[2]["text"].lower()

        # Close: the customer is asked for a rating; the thread's first message says Closed.
        await s.root_shows(ts, "omnigate_claim", "omnigate_close")
        assert (await s.slack.press(AGENT_USER, ts, "omnigate_close")).status == 200
        await eventually(lambda: len(s.sent()) == 4, what="the rating question")
        assert "1" in s.sent()[3]["text"] and "5" in s.sent()[3]["text"]
        closed = await s.root_shows(ts)
        assert "Closed" in block_text(closed)
        await s.line(ts, lambda m: "closed by Mehmet" in m["text"])

        # Every echo of the bot's own posts was acknowledged and did nothing.
        assert s.slack.echoes and all(e.status == 200 for e in s.slack.echoes)
        assert len(s.slack.roots()) == 1
        assert not s.slack.ephemerals
