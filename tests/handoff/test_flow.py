"""The hand-off from start to finish, on both database backends, with the customer on the web
chat: queue, claim, agent replies, a silent bot, notes, release, close, CSAT, a new start."""

from __future__ import annotations

from tests.handoff.helpers import (
    Customer,
    conversation,
    create_agent,
    thread,
    turn_settled,
    wait_state,
)
from tests.support import LiveGateway


async def test_customer_agent_bot_and_rating(live_gateway_any: LiveGateway) -> None:
    gw = live_gateway_any
    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        assert "temsilci" in (await customer.hears())["text"]
        queued = await customer.conversation()
        assert (queued["state"], queued["handoff_reason"]) == ("queued", "customer_request")
        cid = queued["id"]
        status, listed = await gw.api("/api/v1/conversations?state=queued")
        assert status == 200 and [c["id"] for c in listed["conversations"]] == [cid]

        ayse = await create_agent(gw, "Ayşe", teams=["destek"])
        status, claimed = await ayse.act(cid, "claim")
        assert status == 200, claimed
        assert (claimed["state"], claimed["assignee"]["name"]) == ("agent", "Ayşe")

        await ayse.write(cid, "Merhaba, ben Ayşe. Nasıl yardımcı olabilirim?")
        heard = await customer.hears()
        assert (heard["sender"], heard["text"]) == (
            "agent",
            "Merhaba, ben Ayşe. Nasıl yardımcı olabilirim?",
        )

        # While the agent owns it, the bot says nothing, even to what it would answer.
        asked = await customer.say("siparişim nerede")
        await turn_settled(gw, asked)
        await customer.hears_nothing()
        status, mine = await ayse.call("/api/v1/conversations?assignee=me")
        assert [c["last_message"]["text"] for c in mine["conversations"]] == ["siparişim nerede"]

        # A note stays in the thread for agents and never reaches the customer.
        note = await ayse.write(cid, "müşteri VIP, kargo ücretsiz", note=True)
        assert note["note"] is True and note["delivery_status"] is None
        await customer.hears_nothing()

        status, released = await ayse.act(cid, "release")
        assert status == 200 and released["state"] == "bot" and released["assignee"] is None
        await customer.say("siparişim nerede")
        answer = await customer.hears()
        assert answer["sender"] == "bot" and "numara" in answer["text"].lower()

        status, closed = await ayse.act(cid, "close")
        assert status == 200 and closed["state"] == "closed"
        question = await customer.hears()
        assert "1" in question["text"] and "5" in question["text"]

        await customer.say("5")
        assert "teşekkür" in (await customer.hears())["text"].lower()
        rated = await conversation(gw, cid)
        assert rated["csat"]["score"] == 5
        assert rated["metrics"]["handed_off"] is True
        assert rated["metrics"]["time_to_first_agent_reply_seconds"] >= 0
        assert (
            rated["metrics"]["resolution_seconds"]
            >= rated["metrics"]["time_to_first_agent_reply_seconds"]
        )

        # The next message starts a new conversation, with the bot.
        await customer.say("merhaba")
        assert (await customer.hears())["sender"] == "bot"
        fresh = await customer.conversation()
        assert fresh["id"] != cid and fresh["state"] == "bot" and fresh["handed_off"] is False

    entries = await thread(gw, cid)
    system = [m["text"] for m in entries if m["sender"] == "system"]
    assert "Conversation assigned to Ayşe" in system
    assert "Conversation handed back to the bot by Ayşe" in system
    assert "Conversation closed by Ayşe" in system
    assert all(
        m["note"] and m["delivery_status"] is None for m in entries if m["sender"] == "system"
    )
    skipped = [m for m in entries if m["direction"] == "in"]
    assert [m["text"] for m in skipped][:2] == ["canlı destek", "siparişim nerede"]
    sent = [m for m in entries if m["sender"] == "agent" and not m["note"]]
    assert sent[0]["channel"] == "webchat" and sent[0]["delivery_status"] in ("sent", "delivered")


async def test_agent_reply_claims_an_unclaimed_conversation(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    async with Customer(gw) as customer:
        await customer.say("merhaba")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        mehmet = await create_agent(gw, "Mehmet")
        # Stepping in on the bot: recorded as a hand-off the agent claimed.
        await mehmet.write(cid, "Merhaba, ben Mehmet.")
        assert (await customer.hears())["sender"] == "agent"
        found = await wait_state(gw, cid, "agent")
        assert found["handoff_reason"] == "agent_claimed" and found["assignee"]["name"] == "Mehmet"
        assert found["first_agent_reply_at"] is not None


async def test_reply_retry_with_the_same_client_key_sends_once(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        zeynep = await create_agent(gw, "Zeynep")
        body = {"text": "Bakıyorum hemen.", "client_key": "slack-Ev0123"}
        first = await zeynep.call(f"/api/v1/conversations/{cid}/messages", "POST", json=body)
        again = await zeynep.call(f"/api/v1/conversations/{cid}/messages", "POST", json=body)
        assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
        assert (await customer.hears())["text"] == "Bakıyorum hemen."
        await customer.hears_nothing()
