"""One customer across channels, through real provider webhooks and the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.fakes.telegram_updates import TgUser
from bot.identity import WebchatClaims, sign_webchat_claims
from tests.channels.stack import CUSTOMER, Stack, channel_stack, eventually, outbound
from tests.test_webchat_protocol import connect, receive

IDENTITY_SECRET = "brand-site-secret"


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with channel_stack(
        database_url,
        telegram_bot_username="omnigate_test_bot",
        webchat_identity_secret=IDENTITY_SECRET,
    ) as s:
        yield s


def sms_bodies(stack: Stack, to: str = CUSTOMER) -> list[str]:
    return [c.form["Body"] for c in stack.twilio.sent() if c.form.get("To") == to]


async def test_sms_then_whatsapp_from_one_number_is_one_dialog(stack: Stack) -> None:
    await stack.twilio_in("siparişim nerede", number="+90 555 111 22 33")
    customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
    await eventually(lambda: len(sms_bodies(stack)) == 1, what="the SMS reply")
    assert "numara" in sms_bodies(stack)[-1].lower()

    await stack.twilio_in("12345", whatsapp=True)
    messages = await stack.wait_transcript(customer_id, lambda m: len(outbound(m)) == 2)
    assert await stack.customer_id(f"whatsapp:{CUSTOMER}") == customer_id
    assert [(m["channel"], m["direction"]) for m in messages] == [
        ("sms", "in"),
        ("sms", "out"),
        ("whatsapp", "in"),
        ("whatsapp", "out"),
    ]
    assert "12345" in messages[-1]["text"]

    def wa_sends() -> list[dict[str, str]]:
        return [c.form for c in stack.twilio.sent() if c.form["To"] == f"whatsapp:{CUSTOMER}"]

    await eventually(lambda: len(wa_sends()) == 1, what="the WhatsApp reply")
    assert "12345" in wa_sends()[0]["Body"]
    _, customer = await stack.gw.api(f"/api/v1/customers/{customer_id}")
    reasons = {i["channel"]: i["linked_by"] for i in customer["identities"]}
    assert reasons == {"sms": "first_contact", "whatsapp": "same_phone"}
    assert customer["phone"] == CUSTOMER and customer["phone_verified"] is True


async def test_web_chat_deep_link_continues_on_telegram(stack: Stack) -> None:
    ws, hello, _ = await connect(stack.gw)
    await ws.send_json({"type": "message", "text": "siparişim nerede", "client_id": "1"})
    assert "numara" in (await receive(ws, "message"))["text"].lower()
    await ws.send_json({"type": "message", "text": "telegramdan devam edelim", "client_id": "2"})
    offer = await receive(ws, "message")
    assert "https://t.me/omnigate_test_bot?start=OG" in offer["text"]
    code = offer["text"].split("start=")[1].split()[0]
    await ws.close()

    await stack.telegram.deliver(stack.telegram.updates.start(code))
    await eventually(lambda: len(stack.telegram.calls_to("sendMessage")) == 1, what="welcome")
    welcome = stack.telegram.calls_to("sendMessage")[0]["text"]
    # It picks up with the bot's open question, read from the transcript (not the link).
    assert "devam" in welcome.lower() and "numara" in welcome.lower()
    assert "t.me" not in welcome
    # The dialog is at the same step: the order number is answered on Telegram.
    await stack.telegram.deliver(stack.telegram.updates.text("12345"))
    await eventually(lambda: len(stack.telegram.calls_to("sendMessage")) == 2, what="answer")
    assert "12345" in stack.telegram.calls_to("sendMessage")[1]["text"]
    assert await stack.customer_id(f"telegram:{TgUser().id}") == hello["customer_id"]
    _, customer = await stack.gw.api(f"/api/v1/customers/{hello['customer_id']}")
    linked = {i["channel"]: i["linked_by"] for i in customer["identities"]}
    assert linked["telegram"] == "link_code"

    # The code is single-use: another Telegram user gets a polite answer, no link.
    other = TgUser(id=999_000_111, first_name="Can", last_name="", username="can")
    await stack.telegram.deliver(stack.telegram.updates.start(code, user=other))
    await eventually(lambda: len(stack.telegram.calls_to("sendMessage")) == 3, what="refusal")
    assert "süresi dolmuş" in stack.telegram.calls_to("sendMessage")[2]["text"]
    assert await stack.customer_id(f"telegram:{other.id}") != hello["customer_id"]


async def test_link_code_api_and_expiry(stack: Stack) -> None:
    ws, hello, _ = await connect(stack.gw)
    await ws.close()
    status, link = await stack.gw.api(
        f"/api/v1/customers/{hello['customer_id']}/link-codes", "POST", json={"channel": "whatsapp"}
    )
    assert status == 201
    assert link["url"] == f"https://wa.me/14155238886?text={link['code']}"
    assert link["expires_at"]
    status, _ = await stack.gw.api(
        f"/api/v1/customers/{hello['customer_id']}/link-codes", "POST", json={"channel": "fax"}
    )
    assert status == 400
    # Used on WhatsApp: that number joins the web chat customer.
    await stack.twilio_in(f"Devam kodum: {link['code']}", whatsapp=True, number="+905329998877")
    assert await stack.customer_id("whatsapp:+905329998877") == hello["customer_id"]


async def test_typed_phone_never_merges_until_verified(stack: Stack) -> None:
    await stack.twilio_in("merhaba")  # an SMS customer with history exists for CUSTOMER
    sms_customer = await stack.customer_id(f"sms:{CUSTOMER}")

    ws, hello, _ = await connect(stack.gw)
    await ws.send_json({"type": "message", "text": "numaram 0555 111 22 33", "client_id": "p"})
    offer = await receive(ws, "message")
    assert [b["payload"] for b in offer["buttons"]] == [
        f"verify_phone:{CUSTOMER}",
        "verify_phone:no",
    ]
    _, customer = await stack.gw.api(f"/api/v1/customers/{hello['customer_id']}")
    assert [i["channel"] for i in customer["identities"]] == ["webchat"]
    assert await stack.customer_id(f"sms:{CUSTOMER}") == sms_customer  # nothing merged

    await ws.send_json(
        {"type": "button", "payload": f"verify_phone:{CUSTOMER}", "title": "Evet", "client_id": "b"}
    )
    assert "kod" in (await receive(ws, "message"))["text"].lower()
    await eventually(lambda: any("kodunuz" in b for b in sms_bodies(stack)), what="OTP sms")
    otp = next(b for b in sms_bodies(stack) if "kodunuz" in b).split(": ")[1][:6]
    wrong = "000000" if otp != "000000" else "111111"
    await ws.send_json({"type": "message", "text": wrong, "client_id": "w"})
    assert "doğru değil" in (await receive(ws, "message"))["text"]
    await ws.send_json({"type": "message", "text": otp, "client_id": "o"})
    assert "doğrulandı" in (await receive(ws, "message"))["text"]
    await ws.close()
    # Now the SMS history belongs to the web chat customer.
    assert await stack.customer_id(f"sms:{CUSTOMER}") == hello["customer_id"]
    texts = [m["text"] for m in await stack.gw.transcript(hello["customer_id"])]
    assert "merhaba" in texts


async def test_signed_web_identity_links_and_forgery_is_refused(stack: Stack) -> None:
    claims = WebchatClaims(user_id="u-42", email="ayse@example.com", name="Ayşe")
    signature = sign_webchat_claims(IDENTITY_SECRET, claims)
    ws, first, _ = await connect(stack.gw)
    frame = {"type": "identify", "user_id": "u-42", "email": "ayse@example.com", "name": "Ayşe"}
    await ws.send_json({**frame, "signature": "0" * 64})
    assert (await receive(ws, "error"))["code"] == "bad_identity"
    await ws.send_json({**frame, "signature": signature})
    assert (await receive(ws, "identified"))["customer_id"] == first["customer_id"]
    await ws.send_json({"type": "message", "text": "merhaba", "client_id": "x"})
    await receive(ws, "message")
    await ws.close()

    # A new browser, same signed user: the visit joins the same customer and history.
    ws2, second, _ = await connect(stack.gw)
    assert second["customer_id"] != first["customer_id"]
    await ws2.send_json({**frame, "signature": signature})
    assert (await receive(ws2, "identified"))["customer_id"] == first["customer_id"]
    history = await receive(ws2, "history")
    assert "merhaba" in [m["text"] for m in history["messages"]]
    await ws2.close()
    _, customer = await stack.gw.api(f"/api/v1/customers/{first['customer_id']}")
    assert customer["email"] == "ayse@example.com" and customer["email_verified"]


async def test_telegram_shared_own_contact_links_to_phone_customer(stack: Stack) -> None:
    await stack.twilio_in("merhaba")
    sms_customer = await stack.customer_id(f"sms:{CUSTOMER}")
    user = TgUser()
    await stack.telegram.deliver(stack.telegram.updates.text("selam", user=user))
    tg_customer = await stack.customer_id(f"telegram:{user.id}")
    assert tg_customer != sms_customer
    # Somebody else's contact proves nothing.
    await stack.telegram.deliver(
        stack.telegram.updates.contact(phone_number="+905320000000", own=False, user=user)
    )
    # The user's own contact links Telegram to the SMS customer.
    await stack.telegram.deliver(
        stack.telegram.updates.contact(phone_number="905551112233", own=True, user=user)
    )

    async def linked() -> bool:
        return await stack.customer_id(f"telegram:{user.id}") == sms_customer

    await stack.gw.wait_for(linked)
    _, customer = await stack.gw.api(f"/api/v1/customers/{tg_customer}")
    assert customer["merged_into"] == sms_customer
    assert (await stack.find_customer("sms:+905320000000"))[0] == 404


async def test_merge_undo_round_trip_and_erasure(stack: Stack) -> None:
    await stack.twilio_in("merhaba")
    a = await stack.customer_id(f"sms:{CUSTOMER}")
    await stack.telegram.deliver(stack.telegram.updates.text("selam"))
    b = await stack.customer_id(f"telegram:{TgUser().id}")
    await stack.wait_transcript(a, lambda m: len(outbound(m)) == 1)
    await stack.wait_transcript(b, lambda m: len(outbound(m)) == 1)

    async def snapshot() -> tuple:
        _, ca = await stack.gw.api(f"/api/v1/customers/{a}")
        _, cb = await stack.gw.api(f"/api/v1/customers/{b}")
        ma = await stack.gw.transcript(a)
        mb = await stack.gw.transcript(b)
        return ca, cb, ma, mb

    before = await snapshot()
    status, merge = await stack.gw.api(f"/api/v1/customers/{a}/merge", "POST", json={"other_id": b})
    assert status == 201 and merge["moved"]["identities"] == 1
    merged_transcript = await stack.gw.transcript(a)
    assert {m["channel"] for m in merged_transcript} == {"sms", "telegram"}
    assert len(merged_transcript) == 4
    assert (await stack.gw.api(f"/api/v1/customers/{b}/messages"))[1]["messages"] == []
    status, _ = await stack.gw.api(f"/api/v1/customers/{a}/merge", "POST", json={"other_id": a})
    assert status == 400

    status, undone = await stack.gw.api(f"/api/v1/merges/{merge['id']}/undo", "POST")
    assert status == 200 and undone["undone_at"]
    after = await snapshot()
    strip = lambda c: {k: v for k, v in c.items() if k != "merged_into"}  # noqa: E731
    assert strip(after[0]) == strip(before[0]) and strip(after[1]) == strip(before[1])
    assert after[1]["merged_into"] is None

    # Ownership is restored exactly (delivery ticks may arrive meanwhile, so not compared).
    def owned(messages: list[dict]) -> list[tuple]:
        return [(m["id"], m["conversation_id"], m["customer_id"], m["text"]) for m in messages]

    assert owned(after[2]) == owned(before[2]) and owned(after[3]) == owned(before[3])
    assert (await stack.gw.api(f"/api/v1/merges/{merge['id']}/undo", "POST"))[0] == 409

    status, export = await stack.gw.api(f"/api/v1/customers/{a}/export")
    assert status == 200 and export["messages"][0]["text"] == "merhaba"
    assert export["customer"]["phone"] == CUSTOMER

    status, erased = await stack.gw.api(f"/api/v1/customers/{a}", "DELETE")
    assert status == 200 and erased["erased"]["messages"] == 2
    assert (await stack.find_customer(f"sms:{CUSTOMER}"))[0] == 404
    assert (await stack.gw.api(f"/api/v1/customers/{a}"))[0] == 410
    rows = await _raw_texts(stack, a)
    assert rows and all(text == "" for text in rows)


async def _raw_texts(stack: Stack, customer_id: int) -> list[str]:
    from sqlalchemy import select

    from storage.tables import MessageRow

    async with stack.gw.runtime.sessions() as session:
        return list(
            await session.scalars(
                select(MessageRow.text).where(MessageRow.customer_id == customer_id)
            )
        )


async def test_duplicate_suggestions_are_scored_not_merged(stack: Stack) -> None:
    await stack.twilio_in("merhaba", profile_name="Ayse Yilmaz", whatsapp=True)
    a = await stack.customer_id(f"whatsapp:{CUSTOMER}")
    await stack.telegram.deliver(stack.telegram.updates.text("selam"))  # TgUser: Ayşe Yılmaz
    b = await stack.customer_id(f"telegram:{TgUser().id}")
    status, body = await stack.gw.api(f"/api/v1/customers/{a}/duplicates")
    assert status == 200
    (suggestion,) = body["suggestions"]
    assert suggestion["customer_id"] == b and any("name" in r for r in suggestion["reasons"])
    assert await stack.customer_id(f"telegram:{TgUser().id}") == b  # still separate
