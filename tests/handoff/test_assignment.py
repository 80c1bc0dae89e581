"""Automatic assignment: the least busy online agent of the right team with room, else the
conversation waits in the queue until someone is free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from bot import filters as F
from bot.app import create_app
from bot.context import TurnContext
from bot.router import Router
from bot.runtime import Runtime
from bot.settings import Settings
from tests.handoff.helpers import Customer, conversation, create_agent, wait_state
from tests.support import API_TOKEN, LiveGateway, free_port


async def ask_for_a_person(stack: AsyncExitStack, gw: LiveGateway) -> int:
    customer = await stack.enter_async_context(Customer(gw))
    await customer.say("canlı destek")
    await customer.hears()
    return int((await customer.conversation())["id"])


async def test_least_busy_online_agent_within_capacity(live_gateway_any: LiveGateway) -> None:
    gw = live_gateway_any
    ali = await create_agent(gw, "Ali", status="online", max_concurrent=2)
    bora = await create_agent(gw, "Bora", status="online", max_concurrent=1)
    cem = await create_agent(gw, "Cem", status="away", max_concurrent=5)
    async with AsyncExitStack() as stack:
        owners = []
        for _ in range(4):
            cid = await ask_for_a_person(stack, gw)
            owners.append((await conversation(gw, cid))["assignee_id"])
        # Ali (tie, lower id), Bora (Ali busier), Ali (Bora full), nobody (both full, Cem away).
        assert owners == [ali.id, bora.id, ali.id, None]
        assert (await conversation(gw, cid))["state"] == "queued"

        status, agents = await gw.api("/api/v1/agents")
        assert status == 200
        loads = {a["name"]: a["load"] for a in agents["agents"]}
        assert (loads["Ali"], loads["Bora"], loads["Cem"]) == (2, 1, 0)

        # Cem comes online: the waiting conversation is his.
        await cem.set(status="online")
        found = await wait_state(gw, cid, "agent")
        assert found["assignee"]["name"] == "Cem"

        # Bora closes one: he has room again and takes the next in line.
        await bora.act(owners[1], "close", csat=False)
        nxt = await ask_for_a_person(stack, gw)
        assert (await conversation(gw, nxt))["assignee_id"] in (bora.id, cem.id)


async def test_team_routing_and_away_agents(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    await create_agent(gw, "Genel", status="online")
    iade = await create_agent(gw, "Iade", status="away", teams=["iade"])
    async with AsyncExitStack() as stack:
        cid = await ask_for_a_person(stack, gw)
        general = await conversation(gw, cid)
        assert general["assignee"]["name"] == "Genel"

        # A transfer to the returns team: nobody online there, so it waits (not for Genel).
        status, moved = await gw.api(
            f"/api/v1/conversations/{cid}/handoff", "POST", json={"team": "iade"}
        )
        assert status == 200, moved
        assert (moved["state"], moved["team"], moved["handoff_reason"]) == (
            "queued",
            "iade",
            "transfer",
        )
        await iade.set(status="online")
        assigned = await wait_state(gw, cid, "agent")
        assert assigned["assignee"]["name"] == "Iade"


async def test_simultaneous_hand_offs_never_overfill_an_agent(
    live_gateway_any: LiveGateway,
) -> None:
    gw = live_gateway_any
    await create_agent(gw, "Deniz", status="online", max_concurrent=2)
    async with AsyncExitStack() as stack:
        customers = [await stack.enter_async_context(Customer(gw)) for _ in range(6)]
        await asyncio.gather(*(c.say("canlı destek") for c in customers))
        await asyncio.gather(*(c.hears() for c in customers))

        async def all_settled() -> list[dict[str, Any]] | None:
            found = [await c.conversation() for c in customers]
            return found if all(f["state"] in ("queued", "agent") for f in found) else None

        states = sorted(c["state"] for c in await gw.wait_for(all_settled))
        assert states == ["agent", "agent", "queued", "queued", "queued", "queued"]


async def test_a_handler_routes_to_a_team(sqlite_url: str) -> None:
    """`ctx.handoff(reason, team=…)` from a handler: only that team's agents are assigned."""
    router = Router("returns-desk")

    @router.message(F.regex(r"iade"))
    async def returns(ctx: TurnContext) -> None:
        ctx.handoff("handler", team="iade")
        await ctx.reply("İade ekibimize aktarıyorum.")

    async with custom_gateway(sqlite_url, router) as gw:
        await create_agent(gw, "Genel", status="online")
        await create_agent(gw, "Iade", status="online", teams=["iade"])
        async with Customer(gw) as customer:
            await customer.say("ürünü iade etmek istiyorum")
            assert (await customer.hears())["text"] == "İade ekibimize aktarıyorum."
            found = await customer.conversation()
        assert (found["state"], found["team"], found["handoff_reason"]) == (
            "agent",
            "iade",
            "handler",
        )
        assert found["assignee"]["name"] == "Iade"


@asynccontextmanager
async def custom_gateway(database_url: str, router: Router) -> AsyncIterator[LiveGateway]:
    """A real gateway on loopback whose bot is `router` (tests.support with a custom bot)."""
    port = free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        database_url=database_url,
        api_token=API_TOKEN,
        public_url=f"http://127.0.0.1:{port}",
        outbox_poll_interval=0.2,
    )
    app = create_app(settings, Runtime(settings, router=router))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gateway = LiveGateway(f"http://127.0.0.1:{port}", settings, app, runner)
    gateway.http = aiohttp.ClientSession()
    try:
        yield gateway
    finally:
        await gateway.http.close()
        await runner.cleanup()


async def test_a_transfer_goes_to_someone_else_of_the_team(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    ali = await create_agent(gw, "Ali", status="online", teams=["destek"])
    bora = await create_agent(gw, "Bora", status="away", teams=["destek"])
    async with AsyncExitStack() as stack:
        cid = await ask_for_a_person(stack, gw)
        assert (await conversation(gw, cid))["assignee_id"] == ali.id
        await bora.set(status="online")
        # Ali hands it on within the team: both are free now (a tie Ali would win by id),
        # but a transfer is for someone else.
        status, moved = await ali.act(cid, "handoff")
        assert status == 200, moved
        assert (moved["state"], moved["assignee_id"], moved["handoff_reason"]) == (
            "agent",
            bora.id,
            "transfer",
        )


async def test_a_transfer_waits_for_someone_else_and_is_not_offered_back(
    live_gateway_any: LiveGateway,
) -> None:
    gw = live_gateway_any
    ali = await create_agent(gw, "Ali", status="online", teams=["destek"])
    bora = await create_agent(gw, "Bora", status="away", teams=["destek"])
    async with AsyncExitStack() as stack:
        cid = await ask_for_a_person(stack, gw)
        assert (await conversation(gw, cid))["assignee_id"] == ali.id
        # Nobody else of the team is free: the transfer waits in the queue.
        status, moved = await ali.act(cid, "handoff")
        assert status == 200, moved
        assert (moved["state"], moved["assignee_id"]) == ("queued", None)
        # The next offers of the queue (Ali has room, says so again; the watch's rounds)
        # pass Ali over: she asked for someone else.
        await ali.set(status="online")
        assert await gw.runtime.handoff.assign_waiting() == 0
        assert (await conversation(gw, cid))["state"] == "queued"
        # Bora comes online: it is his.
        await bora.set(status="online")
        found = await wait_state(gw, cid, "agent")
        assert found["assignee_id"] == bora.id
        # A later transfer by Bora, with Ali free, goes to Ali as any transfer would.
        status, moved = await bora.act(cid, "handoff")
        assert status == 200, moved
        assert (moved["state"], moved["assignee_id"]) == ("agent", ali.id)


async def test_the_transferring_agent_may_still_claim_it_themselves(
    live_gateway: LiveGateway,
) -> None:
    gw = live_gateway
    ali = await create_agent(gw, "Ali", status="online", teams=["destek"])
    async with AsyncExitStack() as stack:
        cid = await ask_for_a_person(stack, gw)
        status, moved = await ali.act(cid, "handoff")
        assert status == 200 and moved["state"] == "queued", moved
        status, claimed = await ali.act(cid, "claim")
        assert status == 200, claimed
        assert (claimed["state"], claimed["assignee_id"]) == ("agent", ali.id)
