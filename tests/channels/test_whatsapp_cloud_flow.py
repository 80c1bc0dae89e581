"""WhatsApp Cloud API end to end: Meta-signed webhooks into the real gateway, replies out to
the fake Graph API, `statuses` webhooks back in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.fakes import (
    merge_payloads,
    meta_json,
    new_wamid,
    sign_meta,
    whatsapp_message,
    whatsapp_payload,
    whatsapp_reply_payload,
    whatsapp_status,
)
from tests.channels.stack import (
    CUSTOMER,
    GRAPH_TOKEN,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WA_ID,
    Stack,
    channel_stack,
    eventually,
    inbound,
    outbound,
    settle,
)

MESSAGES_PATH = f"/v21.0/{PHONE_NUMBER_ID}/messages"


async def test_text_gets_a_reply_through_the_graph_api(channels: Stack) -> None:
    answer, _ = await channels.meta_in("merhaba", profile_name="Ayşe Yılmaz")
    assert answer.status == 200
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")

    await eventually(lambda: len(channels.graph.sent()) == 1, what="one reply at Graph")
    call = channels.graph.sent()[0]
    assert call.path == MESSAGES_PATH
    assert call.headers["Authorization"] == f"Bearer {GRAPH_TOKEN}"
    body = call.json
    assert (body["messaging_product"], body["to"]) == ("whatsapp", WA_ID)
    # The greeting offers four topics: more than 3 reply buttons, so a list message.
    assert body["type"] == "interactive"
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"]["text"].startswith("Merhaba Ayşe!")
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == ["order_status", "faq_shipping", "faq_returns", "human"]

    messages = await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["read"]
    )
    assert [(m["direction"], m["channel"]) for m in messages] == [
        ("in", "whatsapp"),
        ("out", "whatsapp"),
    ]
    await channels.graph.drain()
    assert [code for _payload, code in channels.graph.callbacks] == [200, 200, 200]


async def test_a_list_reply_drives_the_bot(channels: Stack) -> None:
    await channels.meta_in("merhaba")
    await eventually(lambda: len(channels.graph.sent()) == 1)
    payload = whatsapp_reply_payload(
        wa_id=WA_ID, reply_id="faq_shipping", title="Kargo ve teslimat", list_reply=True
    )
    assert (await channels.meta_post(payload)).status == 200
    await eventually(lambda: len(channels.graph.sent()) == 2)
    answer = channels.graph.sent()[1].json
    assert answer["type"] == "text"
    assert "kargo" in answer["text"]["body"].lower()


async def test_bad_signatures_are_refused_and_nothing_is_stored(channels: Stack) -> None:
    payload = whatsapp_payload(
        messages=[whatsapp_message(WA_ID, "text", {"body": "şifremi sıfırla / ödeme"})],
        contacts=[{"profile": {"name": "Ayşe"}, "wa_id": WA_ID}],
        phone_number_id=PHONE_NUMBER_ID,
    )
    body = meta_json(payload)
    reserialised = json.dumps(payload, ensure_ascii=False).encode()
    attempts = {
        "missing": await channels.meta_post(body, signature=""),
        "wrong secret": await channels.meta_post(body, signature=sign_meta(body, "other")),
        "tampered": await channels.meta_post(
            body.replace(b'"body":"', b'"body":"acil: '),
            signature=sign_meta(body, "meta-e2e-app-secret"),
        ),
        # A signature over re-serialised JSON is not Meta's (Meta signs its escaped bytes).
        "re-serialised": await channels.meta_post(
            body, signature=sign_meta(reserialised, "meta-e2e-app-secret")
        ),
        "sha1 scheme": await channels.meta_post(
            body, signature=sign_meta(body, "meta-e2e-app-secret").replace("sha256", "sha1")
        ),
    }
    for name, answer in attempts.items():
        assert answer.status in (401, 403), (name, answer.status, answer.body)
    await settle()
    assert await channels.transcript_of(f"whatsapp:{CUSTOMER}") is None
    assert channels.graph.calls == []
    # Meta's own bytes with Meta's own signature are accepted, non-ASCII escapes and all.
    assert (await channels.meta_post(body)).status == 200
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    (message,) = inbound(await channels.gw.transcript(customer_id))
    assert message["text"] == "şifremi sıfırla / ödeme"


async def test_subscribe_handshake(channels: Stack) -> None:
    url = channels.whatsapp_url
    http = channels.gw.http
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with http.get(url, params=good) as resp:
        assert resp.status == 200
        assert await resp.text() == "1158201444"
    for bad in (
        dict(good, **{"hub.verify_token": "guess"}),
        dict(good, **{"hub.mode": "unsubscribe"}),
        {"hub.challenge": "1"},
    ):
        async with http.get(url, params=bad) as resp:
            assert resp.status == 403, bad
            assert "1158201444" not in await resp.text()


async def test_the_same_webhook_three_times_is_one_message_and_one_reply(
    channels_any: Stack,
) -> None:
    stack = channels_any
    _, payload = await stack.meta_in("merhaba", message_id=new_wamid())
    # Meta retries for days; a retry may also arrive concurrently with the next one.
    answers = await asyncio.gather(stack.meta_post(payload), stack.meta_post(payload))
    assert [a.status for a in answers] == [200, 200]
    await eventually(lambda: len(stack.graph.sent()) == 1)
    await settle()
    assert len(stack.graph.sent()) == 1
    customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")
    messages = await stack.gw.transcript(customer_id)
    assert len(inbound(messages)) == 1 and len(outbound(messages)) == 1


async def test_every_entry_message_and_status_of_a_batch_is_handled(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, graph_callbacks=False) as stack:
        await stack.meta_in("merhaba")
        await eventually(lambda: len(stack.graph.sent()) == 1)
        (first_reply,) = stack.graph.messages
        customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")
        await stack.wait_transcript(
            customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["queued"]
        )

        others = ["905550000001", "905550000002", "905550000003"]

        def value(*senders: tuple[str, str], statuses: list[dict[str, Any]]) -> dict[str, Any]:
            return whatsapp_payload(
                messages=[whatsapp_message(wa, "text", {"body": text}) for wa, text in senders],
                contacts=[
                    {"profile": {"name": f"Müşteri {wa[-1]}"}, "wa_id": wa} for wa, _ in senders
                ],
                statuses=statuses,
                phone_number_id=PHONE_NUMBER_ID,
            )

        batch = merge_payloads(
            value(
                (WA_ID, "teşekkürler"),
                (others[0], "merhaba"),
                statuses=[
                    whatsapp_status(message_id=first_reply, status="delivered", recipient_id=WA_ID)
                ],
            ),
            value(
                (others[1], "iade nasıl yapılır"),
                (others[2], "kargo ücreti ne kadar"),
                statuses=[
                    whatsapp_status(message_id=first_reply, status="read", recipient_id=WA_ID)
                ],
            ),
        )
        assert len(batch["entry"]) == 2
        assert (await stack.meta_post(batch)).status == 200

        await eventually(lambda: len(stack.graph.sent()) == 5, what="a reply to each message")
        assert sorted(c.json["to"] for c in stack.graph.sent()[1:]) == sorted([WA_ID, *others])
        messages = await stack.gw.transcript(customer_id)
        assert [m["text"] for m in inbound(messages)] == ["merhaba", "teşekkürler"]
        assert outbound(messages)[0]["delivery_status"] == "read"
        for wa_id in others:
            other = await stack.transcript_of(f"whatsapp:+{wa_id}")
            assert other is not None and len(inbound(other)) == 1


async def test_statuses_out_of_order_and_failures(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, graph_callbacks=False) as stack:
        for text in ("merhaba", "teşekkürler"):
            await stack.meta_in(text)
            await eventually(lambda n=len(stack.graph.sent()): len(stack.graph.sent()) > n)
        customer_id = await stack.customer_id(f"whatsapp:{CUSTOMER}")
        await stack.wait_transcript(
            customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["queued"] * 2
        )
        first, second = list(stack.graph.messages)
        # "delivered" may be skipped, and "read" may come before a late "delivered" or "sent".
        for status in ("read", "delivered", "sent"):
            assert (await stack.meta_status(first, status)).status == 200
        failed = await stack.meta_status(
            second,
            "failed",
            error_code=131026,
            error_title="Message undeliverable",
        )
        assert failed.status == 200
        assert (await stack.meta_status(second, "delivered")).status == 200

        replies = outbound(await stack.gw.transcript(customer_id))
        assert [m["delivery_status"] for m in replies] == ["read", "failed"]
        assert replies[1]["error_code"] == "131026"
        assert replies[1]["error_message"] == "Message undeliverable"


async def test_graph_rate_limit_then_success_is_one_delivery(channels: Stack) -> None:
    channels.graph.fail_next(1, status=429, retry_after=1, code=130429)
    await channels.meta_in("merhaba")
    customer_id = await channels.customer_id(f"whatsapp:{CUSTOMER}")
    await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["read"]
    )
    assert [c.status for c in channels.graph.calls] == [429, 200]
