"""Twilio SMS and WhatsApp end to end: signed webhooks into the real gateway, replies out to
the fake Messages API, status callbacks back in."""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.fakes import FakeTwilio, send_twilio_webhook, sign_twilio, twilio_inbound_params
from adapters.twilio import EMPTY_TWIML
from handlers.faq import load_answers
from tests.channels.stack import (
    CUSTOMER,
    SMS_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    WA_FROM,
    Stack,
    channel_stack,
    eventually,
    inbound,
    outbound,
    settle,
)

SHIPPING = load_answers()["faq_shipping"]["tr"]


async def test_sms_gets_a_reply_through_the_messages_api(channels: Stack) -> None:
    answer, params = await channels.twilio_in("merhaba")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert answer.body == EMPTY_TWIML

    # The README's own example, '+' written as is in the query string.
    status, customer = await channels.gw.api(f"/api/v1/customers?identity=sms:{CUSTOMER}")
    assert status == 200, customer
    assert [(i["channel"], i["external_id"]) for i in customer["identities"]] == [("sms", CUSTOMER)]

    await eventually(lambda: len(channels.twilio.sent()) == 1, what="one reply at Twilio")
    call = channels.twilio.sent()[0]
    assert call.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert call.form["From"] == SMS_FROM
    assert call.form["To"] == CUSTOMER
    assert call.form["Body"].startswith("Merhaba!")
    assert call.form["StatusCallback"] == channels.twilio_status_url

    messages = await channels.wait_transcript(
        customer["id"], lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["delivered"]
    )
    first, reply = messages
    assert (first["direction"], first["channel"], first["text"]) == ("in", "sms", "merhaba")
    assert (reply["sender"], reply["channel"], reply["text"]) == ("bot", "sms", reply["text"])
    assert call.form["Body"].startswith(reply["text"])
    # Twilio's callbacks were all accepted (signed over the StatusCallback URL we gave).
    await channels.twilio.drain()
    assert [(p["MessageStatus"], code) for _url, p, code in channels.twilio.callbacks] == [
        ("sent", 200),
        ("delivered", 200),
    ]
    assert params["MessageSid"] not in channels.twilio.messages  # inbound sid is not ours


async def test_whatsapp_through_twilio(channels: Stack) -> None:
    answer, _ = await channels.twilio_in("merhaba", whatsapp=True, profile_name="Ayşe")
    assert answer.status == 200
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    assert (await channels.find_customer(f"sms:{CUSTOMER}"))[0] == 404

    await eventually(lambda: len(channels.twilio.sent()) == 1)
    form = channels.twilio.sent()[0].form
    assert form["From"] == f"whatsapp:{WA_FROM}"
    assert form["To"] == f"whatsapp:{CUSTOMER}"
    assert form["Body"].startswith("Merhaba Ayşe!")
    # WhatsApp through Twilio has no free-form buttons: numbered options.
    assert "\n1) " in form["Body"]

    messages = await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["read"]
    )
    assert {m["channel"] for m in messages} == {"whatsapp"}

    # A numbered answer picks the option, as on SMS.
    await channels.twilio_in("2", whatsapp=True)
    await eventually(lambda: len(channels.twilio.sent()) == 2)
    assert channels.twilio.sent()[1].form["Body"] == SHIPPING
    # A quick-reply button of a Content template carries its payload in ButtonPayload.
    await channels.twilio_in(
        "İade", whatsapp=True, button_payload="faq_returns", button_text="İade ve değişim"
    )
    await eventually(lambda: len(channels.twilio.sent()) == 3)
    assert channels.twilio.sent()[2].form["Body"] == load_answers()["faq_returns"]["tr"]


async def test_forged_missing_tampered_and_stale_signatures_are_refused(channels: Stack) -> None:
    params = twilio_inbound_params(
        from_=CUSTOMER, to=SMS_FROM, body="merhaba", account_sid=TWILIO_SID
    )
    url = channels.twilio_url
    tampered = dict(params, Body="bana para gönder")
    attempts = {
        "forged": await send_twilio_webhook(url, params, "not-the-auth-token"),
        "missing": await send_twilio_webhook(url, params, TWILIO_TOKEN, signature=""),
        "tampered": await send_twilio_webhook(
            url, tampered, TWILIO_TOKEN, signature=sign_twilio(url, params, TWILIO_TOKEN)
        ),
        # Signed for another URL (a replay of a request made to someone else's webhook).
        "stale": await send_twilio_webhook(
            url, params, TWILIO_TOKEN, signed_url="https://elsewhere.example/webhooks/twilio"
        ),
        # Blank parameters count: dropping one after signing breaks the signature.
        "blank dropped": await send_twilio_webhook(
            url,
            {k: v for k, v in params.items() if v},
            TWILIO_TOKEN,
            signature=sign_twilio(url, params, TWILIO_TOKEN),
        ),
    }
    for name, answer in attempts.items():
        assert answer.status == 403, (name, answer.status, answer.body)
    # A forged status callback cannot touch delivery states either.
    forged_status = await send_twilio_webhook(
        channels.twilio_status_url, {"MessageSid": "SM1", "MessageStatus": "read"}, "nope"
    )
    assert forged_status.status == 403

    await settle()
    assert await channels.transcript_of(f"sms:{CUSTOMER}") is None
    assert channels.twilio.calls == []
    # The genuine request still goes through afterwards.
    assert (await send_twilio_webhook(url, params, TWILIO_TOKEN)).status == 200
    assert await channels.customer_id(f"sms:{CUSTOMER}")


async def test_the_same_webhook_three_times_is_one_message_and_one_reply(
    channels_any: Stack,
) -> None:
    stack = channels_any
    params = twilio_inbound_params(
        from_=CUSTOMER, to=SMS_FROM, body="merhaba", account_sid=TWILIO_SID
    )
    answers = await asyncio.gather(
        *(send_twilio_webhook(stack.twilio_url, params, TWILIO_TOKEN) for _ in range(3))
    )
    assert [a.status for a in answers] == [200, 200, 200]
    # ...and once more after the first one was answered, as Twilio's retry would.
    await eventually(lambda: len(stack.twilio.sent()) == 1)
    assert (await send_twilio_webhook(stack.twilio_url, params, TWILIO_TOKEN)).status == 200
    await settle()
    assert len(stack.twilio.sent()) == 1
    messages = await stack.gw.transcript(await stack.customer_id(f"sms:{CUSTOMER}"))
    assert len(inbound(messages)) == 1 and len(outbound(messages)) == 1


async def test_429_then_200_is_one_delivery(channels_any: Stack) -> None:
    stack = channels_any
    stack.twilio.fail_next(1, status=429, retry_after=1)
    await stack.twilio_in("merhaba")
    customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
    messages = await stack.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["delivered"]
    )
    assert [c.status for c in stack.twilio.calls] == [429, 201]
    assert len(stack.twilio.sent()) == 1
    assert outbound(messages)[0]["error_code"] is None


async def test_outage_drains_in_order_after_recovery(channels_any: Stack) -> None:
    stack = channels_any
    stack.twilio.fail_next(2, status=500)
    texts = ["merhaba", "kargo ücreti ne kadar", "iade nasıl yapılır"]
    for text in texts:
        await stack.twilio_in(text)
    customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
    messages = await stack.wait_transcript(
        customer_id,
        lambda ms: (
            len(outbound(ms)) == 3
            and all(m["delivery_status"] in ("sent", "delivered") for m in outbound(ms))
        ),
        timeout=20,
    )
    assert [c.status for c in stack.twilio.calls] == [500, 500, 201, 201, 201]
    # One conversation's replies reach the provider in the order the bot wrote them.
    bodies = [c.form["Body"] for c in stack.twilio.sent()]
    assert [b[:30] for b in bodies] == [m["text"][:30] for m in outbound(messages)]
    assert [m["text"] for m in inbound(messages)] == texts


async def test_a_hanging_provider_is_retried_after_the_timeout(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, provider_timeout=0.5) as stack:
        stack.twilio.hang_next(1)
        await stack.twilio_in("merhaba")
        customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
        await stack.wait_transcript(
            customer_id,
            lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["delivered"],
        )
        assert len(stack.twilio.sent()) == 1


async def test_status_callbacks_out_of_order_never_go_back(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, twilio_callbacks=False) as stack:
        for text in ("merhaba", "teşekkürler", "iade nasıl yapılır"):
            await stack.twilio_in(text)
            await eventually(lambda n=len(stack.twilio.sent()): len(stack.twilio.sent()) > n)
        customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
        await stack.wait_transcript(
            customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["queued"] * 3
        )
        first, second, third = list(stack.twilio.messages)

        for sid, status in ((first, "delivered"), (first, "sent"), (first, "queued")):
            assert (await stack.twilio_status(sid, status)).status == 200
        for sid, status in ((second, "read"), (second, "delivered"), (second, "sent")):
            assert (await stack.twilio_status(sid, status)).status == 200
        assert (await stack.twilio_status(third, "sent")).status == 200
        assert (await stack.twilio_status(third, "failed", error_code="30008")).status == 200
        assert (await stack.twilio_status(third, "delivered")).status == 200  # late, stale
        # A callback for a message that is not ours is acknowledged and ignored.
        assert (await stack.twilio_status("SM" + "f" * 32, "delivered")).status == 200

        messages = await stack.gw.transcript(customer_id)
        replies = outbound(messages)
        assert [m["delivery_status"] for m in replies] == ["delivered", "read", "failed"]
        assert replies[2]["error_code"] == "30008"
        assert [m["error_code"] for m in replies[:2]] == [None, None]


class SlowAnswerTwilio(FakeTwilio):
    """Twilio whose API answer reaches us after its first status callbacks (a slow link)."""

    async def _create(self, request: web.Request) -> web.Response:
        response = await super()._create(request)
        await asyncio.sleep(0.3)
        return response


async def test_a_status_callback_racing_the_api_answer_is_not_lost(sqlite_url: str) -> None:
    """Twilio may post "sent" and "delivered" before our Messages API request has returned."""
    async with channel_stack(
        sqlite_url, callback_delay=0.0, twilio_class=SlowAnswerTwilio
    ) as stack:
        await stack.twilio_in("merhaba")
        customer_id = await stack.customer_id(f"sms:{CUSTOMER}")
        await eventually(lambda: len(stack.twilio.callbacks) == 2, what="two callbacks posted")
        assert [code for _url, _params, code in stack.twilio.callbacks] == [200, 200]
        await stack.wait_transcript(
            customer_id,
            lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["delivered"],
            timeout=3,
        )


async def test_behind_a_proxy_signatures_use_the_public_url(sqlite_url: str) -> None:
    """Twilio signs the URL it called (OMNIGATE_PUBLIC_URL), not the address we listen on."""
    public = "https://omnigate.example.com"
    async with channel_stack(sqlite_url, public_url=public, twilio_callbacks=False) as stack:
        params = twilio_inbound_params(
            from_=CUSTOMER, to=SMS_FROM, body="merhaba", account_sid=TWILIO_SID
        )
        local_signature = await send_twilio_webhook(stack.twilio_url, params, TWILIO_TOKEN)
        assert local_signature.status == 403
        answer = await send_twilio_webhook(
            stack.twilio_url, params, TWILIO_TOKEN, signed_url=public + "/webhooks/twilio"
        )
        assert answer.status == 200
        await eventually(lambda: len(stack.twilio.sent()) == 1)
        assert stack.twilio.sent()[0].form["StatusCallback"] == public + "/webhooks/twilio/status"
