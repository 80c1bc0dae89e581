"""A queued conversation nobody claims in time: the customer is told once, then the fallback."""

from __future__ import annotations

import asyncio

from tests.handoff.helpers import Customer, thread, wait_state
from tests.support import start_gateway

BUSY_TR = "Şu anda tüm temsilcilerimiz meşgul"


async def test_unclaimed_stays_queued_and_customer_is_told_once(sqlite_url: str) -> None:
    async with start_gateway(sqlite_url, handoff_timeout=0.4) as gw, Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        notice = await customer.hears()
        assert notice["text"].startswith(BUSY_TR) and "Sıradasınız" in notice["text"]
        await customer.hears_nothing(1.2)  # once, not every round
        found = await customer.conversation()
        assert found["state"] == "queued"
        system = [m["text"] for m in await thread(gw, found["id"]) if m["sender"] == "system"]
        assert system[-1].startswith("No agent claimed the conversation within 0.4 s")


async def test_unclaimed_goes_back_to_the_bot(sqlite_url: str) -> None:
    settings = {"handoff_timeout": 0.4, "handoff_fallback": "bot"}
    async with start_gateway(sqlite_url, **settings) as gw, Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        assert "asistanımız" in (await customer.hears())["text"]
        cid = (await customer.conversation())["id"]
        await wait_state(gw, cid, "bot")
        await customer.say("siparişim nerede")
        assert "numara" in (await customer.hears())["text"].lower()


async def test_two_workers_tell_the_customer_once(database_url: str) -> None:
    """Two gateways on one database race for the same expired entry: one acts.

    (Each has its own in-process pub/sub here, so the customer on `one` may not hear what
    `two` sends: the transcript is the witness.)
    """
    settings = {"handoff_timeout": 0.3}
    async with start_gateway(database_url, **settings) as one, Customer(one) as customer:
        async with start_gateway(database_url, **settings) as two:
            await customer.say("canlı destek")
            cid = (await one.wait_for(customer.conversation))["id"]
            await wait_state(one, cid, "queued")

            async def noticed() -> list[dict[str, object]]:
                entries = await thread(two, cid)
                return [m for m in entries if str(m["text"]).startswith(BUSY_TR)]

            await one.wait_for(noticed)
            await asyncio.sleep(1.0)  # several rounds of both workers
            assert len(await noticed()) == 1
