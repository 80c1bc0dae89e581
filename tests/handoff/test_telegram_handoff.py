"""The issue's acceptance flow through the Telegram provider fake: a customer on Telegram asks
for a person, an agent answers from the API (as the console does), the bot stays silent, the
agent hands back, the bot answers again; closing asks for a rating on Telegram."""

from __future__ import annotations

from typing import Any

from adapters.fakes.telegram import TgUser
from tests.channels.stack import channel_stack, eventually, settle
from tests.handoff.helpers import conversation, create_agent, thread

USER = TgUser()


async def test_telegram_customer_agent_and_bot(database_url: str) -> None:
    async with channel_stack(database_url) as stack:
        gw, fake = stack.gw, stack.telegram

        def sent() -> list[dict[str, Any]]:
            return fake.calls_to("sendMessage")

        await fake.deliver(fake.updates.text("canlı destek"))
        await eventually(lambda: len(sent()) == 1, what="the hand-off message")
        customer_id = await stack.customer_id(f"telegram:{USER.id}")
        status, body = await gw.api(f"/api/v1/conversations?customer_id={customer_id}")
        assert status == 200
        (queued,) = body["conversations"]
        cid = queued["id"]
        assert queued["state"] == "queued"

        agent = await create_agent(gw, "Ayşe")
        await agent.write(cid, "Merhaba, ben Ayşe. Siparişinize bakıyorum.")
        await eventually(lambda: len(sent()) == 2, what="the agent's reply")
        assert int(sent()[1]["chat_id"]) == USER.id
        assert sent()[1]["text"] == "Merhaba, ben Ayşe. Siparişinize bakıyorum."

        await fake.deliver(fake.updates.text("siparişim nerede"))
        await settle(0.8)  # the turn runs, and is skipped
        assert len(sent()) == 2, sent()[2:]
        entries = await thread(gw, cid)
        assert entries[-1]["text"] == "siparişim nerede" and entries[-1]["channel"] == "telegram"

        assert (await agent.act(cid, "release"))[0] == 200
        await fake.deliver(fake.updates.text("siparişim nerede"))
        await eventually(lambda: len(sent()) == 3, what="the bot again")
        assert "numara" in sent()[2]["text"].lower()

        assert (await agent.act(cid, "close"))[0] == 200
        await eventually(lambda: len(sent()) == 4, what="the rating question")
        assert "1" in sent()[3]["text"] and "5" in sent()[3]["text"]
        await fake.deliver(fake.updates.text("4"))
        await eventually(lambda: len(sent()) == 5, what="thanks")
        assert (await conversation(gw, cid))["csat"]["score"] == 4
