"""The simulator's API against a real simulation: customers' messages become signed provider
webhooks, the gateway's replies reach the simulated phones with their status callbacks, and
the gateway's REST API shows one customer and one transcript.

The gateway verifies every webhook (Twilio and Meta signatures, Telegram's secret token), so a
message it accepted and answered was signed correctly.
"""

from __future__ import annotations

from typing import Any

from bot.settings import Settings
from simulator.config import overridden_env, simulation_settings
from simulator.credentials import SimCredentials
from simulator.providers import SimulatedProviders
from simulator.simulation import Simulation
from tests.simulator.client import Item, SimClient
from tests.support import LiveGateway

PHONE = "+905551112233"


def reply_on(channel: str, peer: str = PHONE, text: str = "", status: str = "") -> Any:
    def predicate(item: Item) -> bool:
        return (
            item["channel"] == channel
            and item["direction"] == "out"
            and item["peer"] == peer
            and text in item["text"]
            and (not status or item["status"] == status)
        )

    return predicate


async def test_an_sms_reaches_the_gateway_and_its_reply_the_phone_with_statuses(
    client: SimClient, simulation: Simulation
) -> None:
    status, body = await client.send(channel="sms", sender="+90 555 111 22 33", text="merhaba")
    assert status == 200, body
    assert body["message"]["status"] == "received"  # the gateway answered the webhook 2xx
    assert body["message"]["peer"] == PHONE

    reply = await client.wait_message(reply_on("sms", status="delivered"))
    assert reply["via"] == "twilio" and reply["provider_id"].startswith("SM")
    # The reply is what the gateway posted to the (fake) Twilio Messages API.
    sent = simulation.providers.twilio.sent()
    assert [c.form["To"] for c in sent] == [PHONE]
    assert sent[0].form["Body"] == reply["text"]

    status, customer = await client.customer(f"sms:{PHONE}")
    assert status == 200, customer
    status, transcript = await client.api(f"/api/v1/customers/{customer['id']}/messages")
    out = [m for m in transcript["messages"] if m["direction"] == "out"]
    assert out and out[0]["delivery_status"] == "delivered"  # the callbacks reached the gateway


async def test_sms_then_whatsapp_from_one_number_is_one_customer_and_one_transcript(
    client: SimClient,
) -> None:
    await client.send(channel="sms", sender=PHONE, text="siparişim nerede")
    await client.wait_message(reply_on("sms"))
    status, body = await client.send(channel="whatsapp", sender=PHONE, text="12345")
    assert status == 200 and body["message"]["status"] == "received", body
    answer = await client.wait_message(reply_on("whatsapp", text="12345", status="read"))
    assert answer["via"] == "cloud" and answer["provider_id"].startswith("wamid.")

    _, customer = await client.customer(f"whatsapp:{PHONE}")
    assert {i["channel"] for i in customer["identities"]} == {"sms", "whatsapp"}
    _, by_sms = await client.customer(f"sms:{PHONE}")
    assert by_sms["id"] == customer["id"]
    _, transcript = await client.api(f"/api/v1/customers/{customer['id']}/messages")
    texts = [(m["channel"], m["direction"], m["text"]) for m in transcript["messages"]]
    assert ("sms", "in", "siparişim nerede") in texts
    assert ("whatsapp", "in", "12345") in texts
    assert any(ch == "whatsapp" and d == "out" and "12345" in t for ch, d, t in texts)


async def test_buttons_whatsapp_list_rows_and_telegram_inline_keyboards(
    client: SimClient, simulation: Simulation
) -> None:
    await client.send(channel="whatsapp", sender=PHONE, text="merhaba")
    menu = await client.wait_message(reply_on("whatsapp"))
    rows = {b["payload"]: b for b in menu["buttons"]}
    assert menu["list_label"] and {"order_status", "human"} <= set(rows)
    row = rows["order_status"]
    status, _ = await client.send(
        channel="whatsapp",
        sender=PHONE,
        button={**row, "reply_to": menu["provider_id"]},
    )
    assert status == 200
    await client.wait_message(reply_on("whatsapp", text="12345"))  # "…numaranızı (ör. 12345)"

    user = "111222333"
    await client.send(channel="telegram", sender=user, text="merhaba")
    keyboard = await client.wait_message(reply_on("telegram", peer=user))
    human = next(b for b in keyboard["buttons"] if b["payload"] == "human")
    assert human["kind"] == "callback"
    status, body = await client.send(
        channel="telegram",
        sender=user,
        button={**human, "reply_to": keyboard["provider_id"]},
    )
    assert status == 200 and body["message"]["status"] == "received", body
    await client.wait_message(reply_on("telegram", peer=user, text="temsilci"))
    _, customer = await client.customer(f"telegram:{user}")
    _, listing = await client.api(f"/api/v1/conversations?customer_id={customer['id']}")
    assert listing["conversations"][0]["state"] == "queued"  # the button asked for a person
    assert simulation.providers.telegram.answered  # answerCallbackQuery was called


async def test_sharing_the_telegram_contact_joins_the_phone_customer(client: SimClient) -> None:
    await client.send(channel="sms", sender=PHONE, text="merhaba")
    await client.wait_message(reply_on("sms"))
    status, body = await client.send(
        channel="telegram", sender="111222333", attachment="contact", contact_phone=PHONE
    )
    assert status == 200 and body["message"]["status"] == "received", body
    _, customer = await client.customer("telegram:111222333")
    assert {i["channel"] for i in customer["identities"]} >= {"sms", "telegram"}


async def test_an_aged_whatsapp_window_moves_the_agents_reply_to_sms(
    client: SimClient, simulation: Simulation
) -> None:
    status, body = await client.request(
        "POST", "/simulator/api/whatsapp-window", json={"phone": PHONE, "hours": 25}
    )
    assert status == 404, body  # nobody wrote on WhatsApp yet: no window to age
    await client.send(channel="sms", sender=PHONE, text="merhaba")
    await client.wait_message(reply_on("sms"))
    await client.send(channel="whatsapp", sender=PHONE, text="canlı destek")
    await client.wait_message(reply_on("whatsapp"))

    status, aged = await client.request(
        "POST", "/simulator/api/whatsapp-window", json={"phone": "+90 555 111 22 33", "hours": 25}
    )
    assert status == 200 and aged["window_open"] is False, aged
    _, customer = await client.customer(f"whatsapp:{PHONE}")
    identity = next(i for i in customer["identities"] if i["channel"] == "whatsapp")
    assert identity["last_inbound_at"] == aged["last_inbound_at"]

    assert simulation.agent is not None
    token = simulation.agent.token
    _, listing = await client.api(
        f"/api/v1/conversations?customer_id={customer['id']}", token=token
    )
    conversation = listing["conversations"][0]["id"]
    status, _ = await client.api(f"/api/v1/conversations/{conversation}/claim", "POST", token)
    assert status == 200
    text = "Merhaba, ben Deniz."
    status, row = await client.api(
        f"/api/v1/conversations/{conversation}/messages", "POST", token, json={"text": text}
    )
    assert status == 201, row
    moved = await client.wait_message(reply_on("sms", text=text))
    assert moved["status"] in ("accepted", "sent", "delivered")
    whatsapp = [i for i in await client.items() if i.get("channel") == "whatsapp"]
    assert not [i for i in whatsapp if i.get("text") == text]  # never sent into a closed window


async def test_stop_opts_the_number_out_of_sms(client: SimClient) -> None:
    await client.send(channel="sms", sender=PHONE, text="STOP")
    confirmation = await client.wait_message(reply_on("sms"))
    assert "BASLA" in confirmation["text"] or "START" in confirmation["text"]
    _, customer = await client.customer(f"sms:{PHONE}")
    sms = next(i for i in customer["identities"] if i["channel"] == "sms")
    assert sms["opted_out_at"]


async def test_bad_requests_are_refused_and_nothing_is_delivered(client: SimClient) -> None:
    bad: list[dict[str, Any]] = [
        {"channel": "fax", "from": PHONE, "text": "x"},
        {"channel": "sms", "from": "not a number", "text": "x"},
        {"channel": "sms", "from": PHONE, "text": "  "},
        {"channel": "sms", "from": PHONE, "button": {"payload": "human", "title": "x"}},
        {"channel": "sms", "from": PHONE, "attachment": "location"},
        {"channel": "telegram", "from": "ayse", "text": "x"},
        {"channel": "telegram", "from": "111222333", "attachment": "contact"},
        {"channel": "whatsapp", "from": PHONE, "text": "x", "via": "carrier pigeon"},
        {"channel": "sms", "from": PHONE, "text": "x" * 5000},
    ]
    for body in bad:
        status, answer = await client.request("POST", "/simulator/api/send", json=body)
        assert status == 400, (body, answer)
        assert answer["message"], answer
    json_type = {"Content-Type": "application/json"}
    status, _ = await client.request("POST", "/simulator/api/send", data=b"{no", headers=json_type)
    assert status == 400
    for hours in (-1, 1e9, "25", True):
        status, _ = await client.request(
            "POST", "/simulator/api/whatsapp-window", json={"phone": PHONE, "hours": hours}
        )
        assert status == 400, hours
    assert await client.items() == []


async def test_state_names_the_tokens_numbers_and_a_working_demo_agent(
    client: SimClient, simulation: Simulation
) -> None:
    status, state = await client.request("GET", "/simulator/api/state")
    assert status == 200 and state["simulation"] is True
    assert state["admin_token"] == simulation.settings.api_token
    assert state["agent"] and state["agent"]["token"].startswith("oga_")
    status, me = await client.api("/api/v1/me", token=state["agent"]["token"])
    assert status == 200 and me["name"] == state["agent"]["name"]
    assert state["personas"][0]["phone"] == PHONE
    providers = state["providers"].values()
    assert all(url.startswith("http://127.0.0.1:") for url in providers)
    async with client.http.get(client.base_url + "/simulator") as page:
        html = await page.text()
    assert "SIMULATION" in html and 'class="sim-badge"' in html


async def test_the_simulator_does_not_exist_without_simulate(live_gateway: LiveGateway) -> None:
    for path in ("/simulator", "/simulator/api/state", "/simulator/static/sim-core.js"):
        async with live_gateway.http.get(live_gateway.base_url + path) as answer:
            assert answer.status == 404, path
    async with live_gateway.http.post(
        live_gateway.base_url + "/simulator/api/send", json={"channel": "sms"}
    ) as answer:
        assert answer.status in (404, 405)


def test_simulate_mode_replaces_every_real_provider_setting() -> None:
    real = Settings(
        host="0.0.0.0",
        database_url="postgresql+asyncpg://prod/db",
        redis_url="redis://prod:6379/0",
        api_token="real-admin",
        twilio_account_sid="ACreal",
        twilio_auth_token="real-twilio",
        twilio_webhook_secret="real-shared-key",
        whatsapp_token="real-graph",
        whatsapp_reengage_template="real_template",
        telegram_token="1:real",
        slack_bot_token="xoxb-real",
        slack_signing_secret="real-slack",
        twilio_send_rate=5.0,
    )
    providers = SimulatedProviders(SimCredentials.generate())
    settings = simulation_settings(
        real, providers, host="127.0.0.1", port=9999, database_url="sqlite+aiosqlite:///x.db"
    )
    values = {name: getattr(settings, name) for name in settings.__dataclass_fields__}
    for secret in ("real", "prod", "xoxb"):
        leaked = {k: v for k, v in values.items() if isinstance(v, str) and secret in v}
        assert not leaked, leaked
    assert settings.public_url == "http://127.0.0.1:9999" and settings.redis_url == ""
    assert settings.slack_bot_token == "" and settings.twilio_webhook_secret == ""
    assert settings.twilio_send_rate == 5.0  # pacing is not a credential: kept
    env = {"OMNIGATE_TWILIO_AUTH_TOKEN": "x", "OMNIGATE_HOST": "0.0.0.0", "OMNIGATE_PORT": "1"}
    assert overridden_env(env) == ["OMNIGATE_HOST", "OMNIGATE_TWILIO_AUTH_TOKEN"]


async def test_other_web_pages_cannot_drive_the_simulator(client: SimClient) -> None:
    body = b'{"channel": "sms", "from": "+905551112233", "text": "merhaba"}'
    # A cross-site form or no-cors fetch cannot send JSON: refused before anything happens.
    status, _ = await client.request(
        "POST", "/simulator/api/send", data=body, headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    # A DNS-rebinding page reaches loopback under its own host name: refused.
    for path in ("/simulator/api/state", "/simulator/api/events", "/simulator"):
        async with client.http.get(
            client.base_url + path, headers={"Host": "attacker.example"}
        ) as answer:
            assert answer.status == 403, path
    async with client.http.get(
        client.base_url + "/simulator/api/state", headers={"Host": "localhost"}
    ) as answer:
        assert answer.status == 200
    assert await client.items() == []
