"""The bot failing to understand twice in a row queues the conversation for a person."""

from __future__ import annotations

from tests.handoff.helpers import Customer, thread
from tests.support import LiveGateway


async def test_two_misunderstandings_in_a_row_queue_the_conversation(
    live_gateway_any: LiveGateway,
) -> None:
    gw = live_gateway_any
    async with Customer(gw) as customer:
        await customer.say("qwerty asdfgh zxcvb")
        first = await customer.hears()
        assert first["buttons"], first  # the fallback's menu: one miss is not enough
        assert (await customer.conversation())["state"] == "bot"

        await customer.say("lorem ipsum dolor sit")
        second = await customer.hears()
        assert "temsilci" in second["text"] and not second["buttons"]
        queued = await customer.conversation()
        assert (queued["state"], queued["handoff_reason"]) == ("queued", "bot_failed_twice")
        assert queued["handed_off"] is True
    system = [m["text"] for m in await thread(gw, queued["id"]) if m["sender"] == "system"]
    assert system == ["Waiting for an agent: the bot did not understand twice in a row"]


async def test_an_understood_message_resets_the_count(live_gateway: LiveGateway) -> None:
    async with Customer(live_gateway) as customer:
        for text in ("qwerty asdfgh zxcvb", "merhaba", "lorem ipsum dolor sit"):
            await customer.say(text)
            await customer.hears()
        assert (await customer.conversation())["state"] == "bot"
