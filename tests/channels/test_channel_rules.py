"""Channel rules end to end: SMS numbered buttons and encoding, opt-out words, the WhatsApp
24-hour window on both providers (template, reroute, hold), and bad input at the webhooks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from sqlalchemy import update

from adapters import sms_encoding
from adapters.fakes import (
    FakeGraph,
    content_variables,
    post_webhook,
    sign_meta,
    sign_twilio,
    twilio_inbound_params,
)
from bot.model import utcnow
from handlers.faq import load_answers
from storage.tables import IdentityRow
from tests.channels.stack import (
    CUSTOMER,
    GRAPH_SECRET,
    SMS_FROM,
    TELEGRAM_SECRET,
    TWILIO_SID,
    TWILIO_TOKEN,
    WA_ID,
    Message,
    Stack,
    channel_stack,
    eventually,
    outbound,
    settle,
)

SHIPPING = load_answers()["faq_shipping"]["tr"]
OTHER = "+905559998877"
CONTENT_SID = "HX" + "a" * 32
OPTIONS_TR = "1) Sipariş durumu\n2) Kargo ve teslimat\n3) İade ve değişim\n4) Canlı destek"


def statuses(messages: list[Message]) -> list[str | None]:
    return [m["delivery_status"] for m in outbound(messages)]


# -- SMS: numbered buttons, encoding, segments ----------------------------------------------


async def test_sms_buttons_are_numbered_and_a_number_picks_one(channels: Stack) -> None:
    await channels.twilio_in("merhaba")
    await eventually(lambda: len(channels.twilio.sent()) == 1)
    menu = channels.twilio.sent()[0].form["Body"]
    assert menu.endswith("\n\n" + OPTIONS_TR), menu

    await channels.twilio_in("2")
    await eventually(lambda: len(channels.twilio.sent()) == 2)
    assert channels.twilio.sent()[1].form["Body"] == SHIPPING


async def test_sms_encoding_and_segments_are_stored(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, sms_max_segments=2) as stack:
        await stack.twilio_in("merhaba")  # Turkish greeting: ş, ı, ğ force UCS-2
        await stack.twilio_in("hello", number=OTHER)  # English greeting: GSM-7
        await eventually(lambda: len(stack.twilio.sent()) == 2)
        by_number = {c.form["To"]: c for c in stack.twilio.sent()}
        # The Turkish one is cut to 132 UCS-2 units (2 segments); 158 GSM-7 septets fit in 1.
        for number, expected, count in ((CUSTOMER, "UCS-2", 2), (OTHER, "GSM-7", 1)):
            body = by_number[number].form["Body"]
            assert sms_encoding.encoding(body) == expected, body
            customer_id = await stack.customer_id(f"sms:{number}")
            messages = await stack.wait_transcript(
                customer_id,
                lambda ms: bool(outbound(ms)) and outbound(ms)[0]["segments"] is not None,
            )
            stored = outbound(messages)[0]["segments"]
            assert stored == sms_encoding.segments(body) == count  # within the limit of 2...
            # ...and the numbered options survive the limit (the text before them is cut).
            assert body.endswith(
                "4) Canlı destek" if expected == "UCS-2" else "4) Talk to an agent"
            )
            # The provider counts the same segments we stored.
            sid = next(s for s, m in stack.twilio.messages.items() if m["to"] == number)
            assert int(stack.twilio.messages[sid]["num_segments"]) == stored


# -- opt-out ------------------------------------------------------------------------------


async def _exchange(stack: Stack, text: str, number: str, replies_before: int) -> list[Message]:
    """Send `text` by SMS and wait until its reply has a final status."""
    await stack.twilio_in(text, number=number)
    customer_id = await stack.customer_id(f"sms:{number}")
    return await stack.wait_transcript(
        customer_id,
        lambda ms: (
            len(outbound(ms)) == replies_before + 1
            and outbound(ms)[-1]["delivery_status"] in ("delivered", "failed")
        ),
    )


@pytest.mark.parametrize(("stop", "start"), [("STOP", "START"), ("İPTAL", "BAŞLA")])
async def test_sms_opt_out_and_back_in(channels: Stack, stop: str, start: str) -> None:
    fake = channels.twilio
    messages = await _exchange(channels, stop, CUSTOMER, 0)
    assert statuses(messages) == ["delivered"]
    assert len(fake.sent()) == 1  # the confirmation, and only it
    confirmation = fake.sent()[0].form["Body"]
    assert "BASLA" in confirmation or "START" in confirmation

    _, customer = await channels.find_customer(f"sms:{CUSTOMER}")
    assert customer["identities"][0]["opted_out_at"] is not None

    messages = await _exchange(channels, "merhaba", CUSTOMER, 1)
    refused = outbound(messages)[-1]
    assert (refused["delivery_status"], refused["error_code"]) == ("failed", "opted_out")
    await settle()
    assert len(fake.sent()) == 1  # nothing more reached the provider

    messages = await _exchange(channels, start, CUSTOMER, 2)
    assert outbound(messages)[-1]["delivery_status"] == "delivered"
    _, customer = await channels.find_customer(f"sms:{CUSTOMER}")
    assert customer["identities"][0]["opted_out_at"] is None

    messages = await _exchange(channels, "merhaba", CUSTOMER, 3)
    assert statuses(messages) == ["delivered", "failed", "delivered", "delivered"]
    assert len(fake.sent()) == 3


async def test_a_carrier_opt_out_fails_the_send_with_the_provider_code(channels: Stack) -> None:
    """Opted out at Twilio (21610) though not with us: failed, code shown, not retried."""
    channels.twilio.opted_out.add(CUSTOMER)
    await channels.twilio_in("merhaba")
    customer_id = await channels.customer_id(f"sms:{CUSTOMER}")
    messages = await channels.wait_transcript(customer_id, lambda ms: statuses(ms) == ["failed"])
    assert outbound(messages)[0]["error_code"] == "21610"
    await settle()
    assert [c.status for c in channels.twilio.calls] == [400]
    _, customer = await channels.gw.api(f"/api/v1/customers/{customer_id}")
    assert customer["identities"][0]["unreachable"] is True


async def test_whatsapp_opt_out(channels: Stack) -> None:
    await channels.meta_in("DUR")
    await eventually(lambda: len(channels.graph.sent()) == 1)
    await channels.meta_in("merhaba")
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    messages = await channels.wait_transcript(
        customer_id, lambda ms: statuses(ms)[1:] == ["failed"]
    )
    assert outbound(messages)[1]["error_code"] == "opted_out"
    await settle()
    assert len(channels.graph.sent()) == 1


# -- the WhatsApp 24-hour window ----------------------------------------------------------


async def test_cloud_closed_window_sends_the_template_and_holds_the_reply(
    sqlite_url: str,
) -> None:
    async with channel_stack(sqlite_url, whatsapp_reengage_template="hello_again") as stack:
        graph = stack.graph
        graph.closed_window.add(WA_ID)  # Meta answers 131047 to free text for this customer
        await stack.meta_in("merhaba")
        customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")

        messages = await stack.wait_transcript(
            customer_id, lambda ms: statuses(ms)[:1] == ["held"] and len(outbound(ms)) == 2
        )
        held, template = outbound(messages)
        assert (held["sender"], held["error_code"]) == ("bot", "window_closed")
        assert "template" in (held["error_message"] or "")
        assert (template["sender"], template["kind"]) == ("system", "template")
        await eventually(lambda: any(c.json["type"] == "template" for c in graph.sent()))
        (sent_template,) = [c.json for c in graph.sent() if c.json["type"] == "template"]
        assert sent_template["template"]["name"] == "hello_again"
        assert sent_template["template"]["language"]["code"] == "tr"
        free_text_sends = len(graph.sent()) - 1

        # Nothing more happens until the customer answers...
        await settle()
        assert len(graph.sent()) == free_text_sends + 1
        # ...then the window is open again and the held reply goes, before the new one.
        graph.closed_window.discard(WA_ID)
        await stack.meta_in("teşekkürler")
        messages = await stack.wait_transcript(
            customer_id,
            lambda ms: len(outbound(ms)) == 3 and all(s == "read" for s in statuses(ms)),
        )
        after = [c.json for c in graph.sent()][free_text_sends + 1 :]
        assert [m["type"] for m in after] == ["interactive", "text"]
        assert after[0]["interactive"]["body"]["text"] == held["text"]
        assert held["error_code"] is not None  # it was visible while held
        assert outbound(messages)[0]["error_code"] is None


async def test_cloud_closed_window_without_template_holds_then_releases(channels: Stack) -> None:
    # This time the Graph API refuses at once (131047 in the HTTP answer).
    channels.graph.fail_next(1, status=400, code=131047)
    await channels.meta_in("merhaba")
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    messages = await channels.wait_transcript(customer_id, lambda ms: statuses(ms) == ["held"])
    held = outbound(messages)[0]
    assert held["error_code"] == "window_closed"
    assert "held until the customer writes again" in held["error_message"]
    await settle()
    assert [c.status for c in channels.graph.calls] == [400]  # no template, no spam

    await channels.meta_in("teşekkürler")
    messages = await channels.wait_transcript(
        customer_id, lambda ms: statuses(ms) == ["read", "read"]
    )
    assert [c.json["type"] for c in channels.graph.sent()] == ["interactive", "text"]


class SlowAnswerGraph(FakeGraph):
    """Graph whose API answer reaches us after its status webhook (a slow link)."""

    async def _messages(self, request: web.Request) -> web.Response:
        response = await super()._messages(request)
        await asyncio.sleep(0.3)
        return response


async def test_a_window_failure_overtaking_the_api_answer_still_holds_the_reply(
    sqlite_url: str,
) -> None:
    """Meta's "failed 131047" webhook may arrive before Graph's 200 reaches us: the reply
    must still end held (or templated), never stay "queued" as if it had gone out."""
    async with channel_stack(sqlite_url, callback_delay=0.0, graph_class=SlowAnswerGraph) as stack:
        stack.graph.closed_window.add(WA_ID)
        await stack.meta_in("merhaba")
        customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")
        await eventually(lambda: len(stack.graph.callbacks) == 1, what="the failed status")
        messages = await stack.wait_transcript(
            customer_id, lambda ms: statuses(ms) == ["held"], timeout=3
        )
        assert outbound(messages)[0]["error_code"] == "window_closed"


async def test_twilio_whatsapp_closed_window_sends_the_content_template(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, whatsapp_reengage_content_sid=CONTENT_SID) as stack:
        twilio = stack.twilio
        twilio.closed_window.add(CUSTOMER)  # accepted, then failed with 63016 by callback
        await stack.twilio_in("merhaba", whatsapp=True)
        customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")
        messages = await stack.wait_transcript(
            customer_id, lambda ms: statuses(ms)[:1] == ["held"] and len(outbound(ms)) == 2
        )
        assert outbound(messages)[0]["error_code"] == "window_closed"
        await eventually(lambda: any("ContentSid" in c.form for c in twilio.sent()))
        template_call = next(c for c in twilio.sent() if "ContentSid" in c.form)
        assert template_call.form["ContentSid"] == CONTENT_SID
        assert "Body" not in template_call.form
        assert template_call.form["To"] == f"whatsapp:{CUSTOMER}"
        assert isinstance(content_variables(template_call), dict)

        twilio.closed_window.discard(CUSTOMER)
        await stack.twilio_in("teşekkürler", whatsapp=True)
        messages = await stack.wait_transcript(
            customer_id,
            lambda ms: len(outbound(ms)) == 3 and all(s == "read" for s in statuses(ms)),
        )
        bodies = [c.form.get("Body", "<template>") for c in twilio.sent()]
        held_text = outbound(messages)[0]["text"]
        assert bodies[-2].startswith(held_text) and bodies[-1] != bodies[-2]


async def test_twilio_whatsapp_window_closed_by_our_clock_holds_without_a_send(
    channels: Stack,
) -> None:
    """No provider error needed: 25 hours since the last inbound message means closed."""
    twilio = channels.twilio
    twilio.fail_next(1, status=429, retry_after=1)  # keeps the reply in the outbox a moment
    await channels.twilio_in("merhaba", whatsapp=True)
    await eventually(lambda: [c.status for c in twilio.calls] == [429])
    async with channels.gw.runtime.sessions() as session, session.begin():
        await session.execute(
            update(IdentityRow)
            .where(IdentityRow.channel == "whatsapp")
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    messages = await channels.wait_transcript(customer_id, lambda ms: statuses(ms) == ["held"])
    assert outbound(messages)[0]["error_code"] == "window_closed"
    await settle()
    assert [c.status for c in twilio.calls] == [429]  # held, not sent and not dropped

    await channels.twilio_in("teşekkürler", whatsapp=True)
    await channels.wait_transcript(customer_id, lambda ms: statuses(ms) == ["read", "read"])


async def test_closed_window_moves_the_reply_to_another_channel(channels: Stack) -> None:
    """The same phone on SMS and WhatsApp is one customer (issue 4's same-phone link): with
    no template configured, the reply the window refused goes out by SMS instead."""
    await channels.twilio_in("merhaba")
    await eventually(lambda: len(channels.twilio.sent()) == 1)
    channels.graph.closed_window.add(WA_ID)
    await channels.meta_in("merhaba")
    sms_customer = await channels.customer_id(f"sms:{CUSTOMER}")
    wa_customer = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    if sms_customer != wa_customer:
        pytest.skip("SMS and WhatsApp identities of one phone are not linked (issue 4)")

    messages = await channels.wait_transcript(
        sms_customer,
        lambda ms: len(outbound(ms)) == 2 and statuses(ms) == ["delivered", "delivered"],
    )
    moved = outbound(messages)[1]
    assert moved["channel"] == "sms"
    assert len(channels.twilio.sent()) == 2
    sms = channels.twilio.sent()[1].form
    assert sms["To"] == CUSTOMER and sms["From"] == SMS_FROM
    assert sms["Body"].startswith(moved["text"])
    assert "1) " in sms["Body"]  # rendered for SMS: numbered options


# -- bad input ------------------------------------------------------------------------------


def _form(params: dict[str, str], url: str) -> tuple[bytes, dict[str, str]]:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign_twilio(url, params, TWILIO_TOKEN),
    }
    return urlencode(params).encode(), headers


def _meta(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign_meta(body, GRAPH_SECRET),
    }


TELEGRAM = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


async def test_bad_input_gets_clear_errors_and_stores_nothing(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, max_body_bytes=4096) as stack:
        twilio, meta, telegram = stack.twilio_url, stack.whatsapp_url, stack.telegram_url
        good = twilio_inbound_params(
            from_=CUSTOMER, to=SMS_FROM, body="merhaba", account_sid=TWILIO_SID
        )
        no_sid = {k: v for k, v in good.items() if "Sid" not in k or k == "AccountSid"}
        missing_id = _meta_without_id()
        cases: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
            ("twilio without MessageSid", twilio, *_form(no_sid, twilio), 400, "MessageSid"),
            ("twilio NumMedia", twilio, *_form(dict(good, NumMedia="x"), twilio), 400, "NumMedia"),
            (
                "twilio unknown channel",
                twilio,
                *_form(dict(good, From="messenger:123"), twilio),
                400,
                "messenger",
            ),
            ("meta not JSON", meta, b"{not json", _meta(b"{not json"), 400, "JSON"),
            ("meta not a payload", meta, b"[1, 2]", _meta(b"[1, 2]"), 400, "payload"),
            (
                "meta message without id",
                meta,
                missing_id,
                _meta(missing_id),
                400,
                "without id",
            ),
            ("telegram not JSON", telegram, b"\xff\xfe{", TELEGRAM, 400, "JSON"),
            ("telegram no update_id", telegram, b'{"message": {}}', TELEGRAM, 400, "update_id"),
            (
                "telegram bad chat",
                telegram,
                b'{"update_id": 1, "message": {"message_id": 1, "chat": "x"}}',
                TELEGRAM,
                400,
                "chat",
            ),
        ]
        for url in (twilio, meta, telegram):
            big = b"x" * 5000
            cases.append((f"oversized {url}", url, big, _meta(big) | TELEGRAM, 413, "too large"))
        for name, url, body, headers, expected, words in cases:
            answer = await post_webhook(url, body, headers)
            assert answer.status == expected, (name, answer.status, answer.body)
            error = json.loads(answer.body)
            assert words.lower() in error["message"].lower(), (name, error)

        http = stack.gw.http
        async with http.post(stack.gw.base_url + "/webhooks/fax", data=b"x") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"] == "unknown_channel"
        async with http.get(twilio) as resp:
            assert resp.status == 405

        await settle()
        for identity in (f"sms:{CUSTOMER}", f"whatsapp:{CUSTOMER}", "telegram:111222333"):
            assert await stack.transcript_of(identity) is None, identity
        assert stack.twilio.calls == stack.graph.calls == []
        assert stack.telegram.calls_to("sendMessage") == []
        # The gateway is unharmed: a good message still gets its reply.
        assert (await post_webhook(twilio, *_form(good, twilio))).status == 200
        await eventually(lambda: len(stack.twilio.sent()) == 1)


def _meta_without_id() -> bytes:
    payload: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messages": [{"from": WA_ID, "type": "text"}]},
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()
