"""Agent tokens (401/403) and refused transitions (409) with clear JSON errors."""

from __future__ import annotations

from tests.handoff.helpers import Customer, call, create_agent
from tests.support import LiveGateway


async def test_tokens_and_roles(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    for path in ("/api/v1/me", "/api/v1/agents", "/api/v1/conversations", "/api/v1/canned"):
        async with gw.http.get(gw.base_url + path) as resp:
            assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
        assert (await call(gw, "oga_not-a-token", path))[0] == 401

    status, me = await gw.api("/api/v1/me")
    assert status == 200 and me["builtin"] is True and me["is_admin"] is True

    ayse = await create_agent(gw, "Ayşe")
    bora = await create_agent(gw, "Bora")
    status, me = await ayse.call("/api/v1/me")
    assert status == 200 and (me["name"], me["is_admin"], me["status"]) == ("Ayşe", False, "away")
    assert "token" not in me

    status, body = await ayse.call(
        "/api/v1/agents", "POST", json={"name": "X", "email": "x@example.com"}
    )
    assert (status, body["error"]) == (403, "forbidden")
    assert (await ayse.call(f"/api/v1/agents/{bora.id}", "PATCH", json={"status": "online"}))[
        0
    ] == 403
    assert (await ayse.call(f"/api/v1/agents/{ayse.id}", "PATCH", json={"max_concurrent": 9}))[
        0
    ] == 403
    assert (await ayse.set(status="online"))["status"] == "online"
    status, listed = await ayse.call("/api/v1/agents")
    assert status == 200 and {"Ayşe", "Bora"} <= {a["name"] for a in listed["agents"]}

    # An admin agent (role admin, own token) may create agents.
    boss = await create_agent(gw, "Boss", role="admin")
    status, _ = await boss.call(
        "/api/v1/agents", "POST", json={"name": "Yeni", "email": "yeni@example.com"}
    )
    assert status == 201

    # A renewed token replaces the old one.
    status, renewed = await ayse.call(f"/api/v1/agents/{ayse.id}/token", "POST")
    assert status == 200
    assert (await ayse.call("/api/v1/me"))[0] == 401
    assert (await call(gw, renewed["token"], "/api/v1/me"))[1]["name"] == "Ayşe"


async def test_bad_agent_bodies(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    await create_agent(gw, "Ayşe", email="ayse@example.com")
    cases = [
        ({"name": "A"}, 400),
        ({"name": "", "email": "a@example.com"}, 400),
        ({"name": "A", "email": "not-an-email"}, 400),
        ({"name": "A", "email": "a@example.com", "role": "root"}, 400),
        ({"name": "A", "email": "a@example.com", "teams": "destek"}, 400),
        ({"name": "A", "email": "a@example.com", "max_concurrent": -1}, 400),
        ({"name": "A", "email": "a@example.com", "shoe_size": 42}, 400),
        ({"name": "A", "email": "AYSE@example.com"}, 409),
    ]
    for body, expected in cases:
        status, answer = await gw.api("/api/v1/agents", "POST", json=body)
        assert status == expected, (body, answer)
        assert answer["error"] and answer["message"]
    status, answer = await gw.api("/api/v1/agents", "POST", data=b"{nope")
    assert status == 400 and answer["error"] == "bad_request"


async def test_illegal_transitions_are_409(live_gateway_any: LiveGateway) -> None:
    gw = live_gateway_any
    ayse = await create_agent(gw, "Ayşe")
    bora = await create_agent(gw, "Bora")
    async with Customer(gw) as customer:
        await customer.say("merhaba")
        await customer.hears()
        cid = (await customer.conversation())["id"]

        status, body = await ayse.act(cid, "release")
        assert (status, body["error"]) == (409, "illegal_transition")
        assert "'bot'" in body["message"]

        assert (await ayse.act(cid, "claim"))[0] == 200
        assert (await ayse.act(cid, "claim"))[0] == 200  # one's own again: no change
        status, body = await bora.act(cid, "claim")
        assert (status, body["error"]) == (409, "conflict") and "Ayşe" in body["message"]
        status, body = await bora.call(
            f"/api/v1/conversations/{cid}/messages", "POST", json={"text": "ben de"}
        )
        assert status == 409
        assert (await bora.act(cid, "release"))[0] == 403
        assert (await bora.act(cid, "close"))[0] == 403
        # Notes are for everyone on the team.
        assert (await bora.write(cid, "ben bakabilirim", note=True))["note"] is True

        status, body = await gw.api(f"/api/v1/conversations/{cid}/handoff", "POST", json={})
        assert status == 200 and body["state"] == "queued"  # the admin transfers it
        status, body = await gw.api(f"/api/v1/conversations/{cid}/handoff", "POST", json={})
        assert (status, body["error"]) == (409, "illegal_transition")
        status, body = await gw.api(
            f"/api/v1/conversations/{cid}/handoff", "POST", json={"reason": "bored"}
        )
        assert status == 400

        assert (await ayse.act(cid, "close", csat=False))[0] == 200
        for action in ("claim", "release", "close", "handoff"):
            status, body = await ayse.act(cid, action)
            assert (status, body["error"]) == (409, "illegal_transition"), action
        status, _ = await ayse.call(
            f"/api/v1/conversations/{cid}/messages", "POST", json={"text": "hâlâ orada mısınız?"}
        )
        assert status == 409
        await customer.hears_nothing()

    assert (await ayse.act(999_999, "claim"))[0] == 404
    assert (await ayse.call("/api/v1/conversations/abc"))[0] == 404
    assert (await ayse.call("/api/v1/conversations?state=sleeping"))[0] == 400


async def test_admin_assigns_to_an_agent(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    ayse = await create_agent(gw, "Ayşe")
    bora = await create_agent(gw, "Bora")
    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        assert (await bora.act(cid, "claim", agent_id=ayse.id))[0] == 403
        status, body = await gw.api(
            f"/api/v1/conversations/{cid}/claim", "POST", json={"agent_id": ayse.id}
        )
        assert status == 200 and body["assignee"]["name"] == "Ayşe"
        # The admin may release anyone's conversation.
        status, body = await gw.api(f"/api/v1/conversations/{cid}/release", "POST")
        assert status == 200 and body["state"] == "bot"
