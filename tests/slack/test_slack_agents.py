"""Slack users act as their agents: found by email (or by the Slack user id an admin set), and
held to the same rules as in the console: someone else's conversation is theirs."""

from __future__ import annotations

from tests.channels.stack import eventually, settle
from tests.handoff.helpers import create_agent, thread, wait_state
from tests.slack.stack import AGENT_EMAIL, AGENT_USER, slack_stack

ZEYNEP_USER = "U0ZEYNEP01"


async def test_another_agents_conversation_is_theirs(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
        zeynep = await create_agent(s.gw, "Zeynep", email="zeynep@example.com")
        s.slack.add_user(AGENT_USER, AGENT_EMAIL, "Mehmet Demir")
        # Zeynep's Slack email is not her agent email: an admin links her Slack user instead.
        s.slack.add_user(ZEYNEP_USER, "z.kaya@personal.example", "Zeynep Kaya")
        status, body = await s.gw.api(
            f"/api/v1/agents/{zeynep.id}", "PATCH", json={"slack_user_id": ZEYNEP_USER}
        )
        assert status == 200, body
        cid, root = await s.customer_asks_for_a_person()
        ts = root["ts"]

        assert (await s.slack.press(AGENT_USER, ts, "omnigate_claim")).status == 200
        claimed = await wait_state(s.gw, cid, "agent")
        assert claimed["assignee"]["name"] == "Mehmet"
        await s.root_shows(ts, "omnigate_release", "omnigate_close")

        await s.slack.user_replies(ZEYNEP_USER, ts, "Ben de buradayım")
        await eventually(lambda: s.slack.ephemerals, what="Zeynep's notice")
        assert s.slack.ephemerals[0]["user"] == ZEYNEP_USER
        assert "Not sent to the customer" in s.slack.ephemerals[0]["text"]
        assert "assigned to Mehmet" in s.slack.ephemerals[0]["text"]

        assert (await s.slack.press(ZEYNEP_USER, ts, "omnigate_release")).status == 200
        await eventually(lambda: len(s.slack.ephemerals) == 2, what="the refused release")
        assert s.slack.ephemerals[1]["text"].startswith("Could not release")
        await settle(0.5)
        assert len(s.sent()) == 1
        assert (await wait_state(s.gw, cid, "agent"))["assignee"]["name"] == "Mehmet"
        assert ZEYNEP_USER not in [c["user"] for c in s.slack.calls_to("users.info")]

        # Her note is hers to write, whoever owns the conversation.
        await s.slack.user_replies(ZEYNEP_USER, ts, "Note: müşteri daha önce de aradı")

        async def noted() -> bool:
            return any(m["note"] and m["agent_name"] == "Zeynep" for m in await thread(s.gw, cid))

        await eventually(noted, what="Zeynep's note")
