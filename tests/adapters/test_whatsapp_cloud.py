"""WhatsAppCloudAdapter against the fake Graph API and Meta-signed webhooks, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from adapters.base import RawRequest, SendError, WebhookRejected
from adapters.fakes import (
    FakeGraph,
    merge_payloads,
    meta_json,
    send_meta_webhook,
    sign_meta,
    whatsapp_button_payload,
    whatsapp_location_payload,
    whatsapp_media_payload,
    whatsapp_message,
    whatsapp_payload,
    whatsapp_reply_payload,
    whatsapp_status,
    whatsapp_status_payload,
    whatsapp_text_payload,
)
from adapters.whatsapp_cloud import WhatsAppCloudAdapter
from bot.model import Address, Button, Inbound, Kind, Media, Outbound, StatusUpdate, Template
from bot.settings import Settings
from tests.adapters.webhook_stub import WebhookStub

TOKEN = "EAAG-test-token"
SECRET = "meta-app-secret"
VERIFY = "verify-me"
PHONE_ID = "106540352242922"
WA_ID = "905551112233"
URL = "https://gw.example.com/webhooks/whatsapp"
CUSTOMER = Address("whatsapp", "whatsapp_cloud", PHONE_ID, "+" + WA_ID)


def make_settings(api_url: str = "http://127.0.0.1:9", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "whatsapp_token": TOKEN,
        "whatsapp_app_secret": SECRET,
        "whatsapp_verify_token": VERIFY,
        "whatsapp_phone_number_id": PHONE_ID,
        "whatsapp_api_url": api_url,
        "whatsapp_send_rate": 20.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def request(body: bytes, signature: str | None = None) -> RawRequest:
    headers = {"Content-Type": "application/json"}
    signature = sign_meta(body, SECRET) if signature is None else signature
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return RawRequest("POST", URL, headers, body)


def parse(payload: dict[str, Any]) -> list[Inbound | StatusUpdate]:
    return WhatsAppCloudAdapter(make_settings()).parse(request(meta_json(payload)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(TOKEN, phone_number_id=PHONE_ID)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def adapter(fake: FakeGraph) -> AsyncIterator[WhatsAppCloudAdapter]:
    cloud = WhatsAppCloudAdapter(make_settings(fake.base_url), timeout=0.5)
    await cloud.start()
    yield cloud
    await cloud.close()


# -- handshake and signature --------------------------------------------------------------


async def test_subscribe_handshake() -> None:
    adapter = WhatsAppCloudAdapter(make_settings())
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    reply = await adapter.handshake(RawRequest("GET", URL, {}, b"", query))
    assert reply is not None
    assert (reply.status, reply.body, reply.content_type) == (200, "1158201444", "text/plain")
    for bad in ({**query, "hub.verify_token": "nope"}, {**query, "hub.mode": "unsubscribe"}, {}):
        with pytest.raises(WebhookRejected) as exc:
            await adapter.handshake(RawRequest("GET", URL, {}, b"", bad))
        assert exc.value.status == 403


async def test_handshake_over_http_reads_the_query_string() -> None:
    stub = WebhookStub()
    base = await stub.start("/webhooks/whatsapp")
    stub.adapter = WhatsAppCloudAdapter(make_settings())
    try:
        async with aiohttp.ClientSession() as http:
            query = f"hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=42"
            async with http.get(f"{base}/webhooks/whatsapp?{query}") as answer:
                assert (answer.status, await answer.text()) == (200, "42")
            async with http.get(f"{base}/webhooks/whatsapp?hub.mode=subscribe") as answer:
                assert answer.status == 403
    finally:
        await stub.stop()


async def test_signature_is_over_the_raw_bytes_with_meta_escaping() -> None:
    payload = whatsapp_text_payload(
        wa_id=WA_ID, text="çay/şeker? https://ex.com/a", profile_name="Ayşe"
    )
    body = meta_json(payload)
    assert b"\\u00e7" in body and b"\\/" in body  # escaped the way Meta sends it
    adapter = WhatsAppCloudAdapter(make_settings())
    await adapter.verify(request(body))
    [event] = adapter.parse(request(body))
    assert isinstance(event, Inbound) and event.text == "çay/şeker? https://ex.com/a"
    # Whoever HMACs re-serialised JSON gets another digest: the signature must not match it.
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert sign_meta(reserialised, SECRET) != sign_meta(body, SECRET)
    with pytest.raises(WebhookRejected):
        await adapter.verify(request(reserialised, sign_meta(body, SECRET)))


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "sha256=" + "0" * 64,
        sign_meta(b"{}", SECRET),
        sign_meta(b"x", "other-secret"),
        "sha1=abc",
    ],
)
async def test_forged_or_missing_signature_is_rejected(signature: str) -> None:
    body = meta_json(whatsapp_text_payload(wa_id=WA_ID, text="merhaba"))
    with pytest.raises(WebhookRejected) as exc:
        await WhatsAppCloudAdapter(make_settings()).verify(request(body, signature))
    assert exc.value.status == 403


async def test_tampered_body_is_rejected() -> None:
    body = meta_json(whatsapp_text_payload(wa_id=WA_ID, text="100 TL"))
    signature = sign_meta(body, SECRET)
    with pytest.raises(WebhookRejected):
        await WhatsAppCloudAdapter(make_settings()).verify(
            request(body.replace(b"100", b"900"), signature)
        )


async def test_no_app_secret_rejects_everything() -> None:
    body = meta_json(whatsapp_text_payload(wa_id=WA_ID, text="x"))
    with pytest.raises(WebhookRejected):
        await WhatsAppCloudAdapter(make_settings(whatsapp_app_secret="")).verify(request(body))


# -- parsing ------------------------------------------------------------------------------


def test_parse_text() -> None:
    payload = whatsapp_text_payload(
        wa_id=WA_ID, text="Merhaba", profile_name="Ayşe", message_id="wamid.A1"
    )
    [event] = parse(payload)
    assert isinstance(event, Inbound)
    assert event.provider_id == "wamid.A1"
    assert event.address == CUSTOMER
    assert (event.external_id, event.profile_name, event.kind) == ("+" + WA_ID, "Ayşe", Kind.TEXT)
    ts = int(payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"])
    assert event.timestamp == datetime.fromtimestamp(ts, UTC)


def test_multi_entry_payload_yields_every_event() -> None:
    two_messages = whatsapp_payload(
        messages=[
            whatsapp_message("905550000001", "text", {"body": "bir"}, message_id="wamid.1"),
            whatsapp_message("905550000002", "text", {"body": "iki"}, message_id="wamid.2"),
        ],
        contacts=[
            {"profile": {"name": "Bir"}, "wa_id": "905550000001"},
            {"profile": {"name": "İki"}, "wa_id": "905550000002"},
        ],
    )
    statuses = whatsapp_payload(
        statuses=[
            whatsapp_status(message_id="wamid.out1", status="delivered", recipient_id=WA_ID),
            whatsapp_status(message_id="wamid.out1", status="read", recipient_id=WA_ID),
        ]
    )
    payload = merge_payloads(
        two_messages,
        whatsapp_text_payload(wa_id=WA_ID, text="üç", message_id="wamid.3"),
        statuses,
    )
    # and a second change inside the first entry
    payload["entry"][0]["changes"].append(
        whatsapp_text_payload(wa_id=WA_ID, text="dört", message_id="wamid.4")["entry"][0][
            "changes"
        ][0]
    )
    events = parse(payload)
    inbound = [e for e in events if isinstance(e, Inbound)]
    assert [(e.provider_id, e.text) for e in inbound] == [
        ("wamid.1", "bir"),
        ("wamid.2", "iki"),
        ("wamid.4", "dört"),
        ("wamid.3", "üç"),
    ]
    assert [e.profile_name for e in inbound[:2]] == ["Bir", "İki"]
    assert [(e.provider_message_id, e.status) for e in events if isinstance(e, StatusUpdate)] == [
        ("wamid.out1", "delivered"),
        ("wamid.out1", "read"),
    ]


def test_parse_buttons_lists_and_template_buttons() -> None:
    [button] = parse(whatsapp_reply_payload(wa_id=WA_ID, reply_id="CONFIRM", title="Evet"))
    [row] = parse(
        whatsapp_reply_payload(wa_id=WA_ID, reply_id="SIZE_M", title="Orta", list_reply=True)
    )
    [quick] = parse(whatsapp_button_payload(wa_id=WA_ID, payload="STOP_PROMO", text="Durdur"))
    for event, payload, text in (
        (button, "CONFIRM", "Evet"),
        (row, "SIZE_M", "Orta"),
        (quick, "STOP_PROMO", "Durdur"),
    ):
        assert isinstance(event, Inbound)
        assert (event.kind, event.payload, event.text) == (Kind.BUTTON, payload, text)
    assert isinstance(button, Inbound) and button.extra["reply_to"].startswith("wamid.")


@pytest.mark.parametrize(
    ("kind", "mime"),
    [
        ("image", "image/jpeg"),
        ("document", "application/pdf"),
        ("audio", "audio/ogg"),
        ("video", "video/mp4"),
        ("sticker", "image/webp"),
    ],
)
def test_parse_media_keeps_the_media_id(kind: str, mime: str) -> None:
    payload = whatsapp_media_payload(
        wa_id=WA_ID, kind=kind, media_id="987654321", mime_type=mime, caption="fiş"
    )
    [event] = parse(payload)
    assert isinstance(event, Inbound)
    assert event.kind == Kind.MEDIA
    assert event.media == [Media(url="", content_type=mime, caption="fiş", ref="987654321")]


def test_parse_location_and_contacts() -> None:
    [location] = parse(
        whatsapp_location_payload(
            wa_id=WA_ID, latitude=41.0, longitude=29.0, name="Ofis", address="Kadıköy"
        )
    )
    assert isinstance(location, Inbound) and location.kind == Kind.LOCATION
    assert location.extra["location"] == {
        "latitude": 41.0,
        "longitude": 29.0,
        "name": "Ofis",
        "address": "Kadıköy",
    }
    shared = {
        "name": {"formatted_name": "Mehmet Öz", "first_name": "Mehmet"},
        "phones": [{"phone": "+90 555 444 33 22", "wa_id": "905554443322", "type": "CELL"}],
    }
    message = whatsapp_message(WA_ID, "contacts", {}, contacts=[shared])  # a list, not a dict
    [contact] = parse(whatsapp_payload(messages=[message]))
    assert isinstance(contact, Inbound) and contact.kind == Kind.CONTACT
    assert contact.extra["contact"] == {
        "name": "Mehmet Öz",
        "phone": "+90 555 444 33 22",
        "wa_id": "905554443322",
    }


def test_unknown_message_types_are_kept_not_dropped() -> None:
    message = whatsapp_message(WA_ID, "reaction", {"message_id": "wamid.X", "emoji": "👍"})
    [event] = parse(whatsapp_payload(messages=[message]))
    assert isinstance(event, Inbound)
    assert (event.kind, event.text, event.extra["type"]) == (Kind.TEXT, "", "reaction")
    assert event.extra["reaction"]["emoji"] == "👍"


def test_parse_failed_status() -> None:
    payload = whatsapp_status_payload(
        message_id="wamid.F",
        status="failed",
        recipient_id=WA_ID,
        error_code=131047,
        error_title="Re-engagement message",
    )
    [event] = parse(payload)
    assert isinstance(event, StatusUpdate)
    assert (event.provider, event.channel, event.status) == ("whatsapp_cloud", "whatsapp", "failed")
    assert (event.error_code, event.error_message) == ("131047", "Re-engagement message")


def test_malformed_body_is_a_400() -> None:
    with pytest.raises(WebhookRejected) as exc:
        WhatsAppCloudAdapter(make_settings()).parse(request(b"{not json"))
    assert exc.value.status == 400


# -- sending ------------------------------------------------------------------------------


async def test_send_text(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    result = await adapter.send(CUSTOMER, Outbound(text="Merhaba Ayşe"))
    assert result.provider_message_id.startswith("wamid.")
    [call] = fake.sent()
    assert call.path == f"/v21.0/{PHONE_ID}/messages"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "Merhaba Ayşe"},
    }


async def test_up_to_three_buttons_are_reply_buttons(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    buttons = [
        Button("Evet", "Y"),
        Button("Hayır", "N"),
        Button("Bir temsilciyle görüşmek istiyorum", "AGENT"),
    ]
    await adapter.send(CUSTOMER, Outbound(text="Onaylıyor musunuz?", buttons=buttons))
    interactive = fake.sent()[0].json["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Onaylıyor musunuz?"}
    replies = [b["reply"] for b in interactive["action"]["buttons"]]
    assert [r["id"] for r in replies] == ["Y", "N", "AGENT"]
    assert replies[2]["title"] == "Bir temsilciyle gör…" and len(replies[2]["title"]) == 20


async def test_four_to_ten_buttons_are_a_list(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    buttons = [Button(f"Seçenek {i}", f"OPT_{i}") for i in range(1, 8)]
    buttons.append(Button("Kargo takibi ve teslimat adresi değişikliği", "SHIP"))
    await adapter.send(CUSTOMER, Outbound(text="Konu seçin", buttons=buttons))
    interactive = fake.sent()[0].json["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Seçenekler"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [b.payload for b in buttons]
    assert len(rows[-1]["title"]) == 24 and rows[-1]["description"] == buttons[-1].title


async def test_more_than_ten_buttons_are_numbered_text(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    buttons = [Button(f"Şube {i}", f"B{i}") for i in range(1, 13)]
    await adapter.send(CUSTOMER, Outbound(text="Şube seçin", buttons=buttons))
    body = fake.sent()[0].json["text"]["body"]
    assert body.startswith("Şube seçin\n\n1) Şube 1\n2) Şube 2") and body.endswith("12) Şube 12")


async def test_media_by_link_with_caption(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    photo = Media("https://cdn.example.com/menu.jpg", "image/jpeg")
    voice = Media("https://cdn.example.com/a.ogg", "audio/ogg", caption="sesli mesaj")
    result = await adapter.send(CUSTOMER, Outbound(text="Menü", media=[photo, voice]))
    calls = [c.json for c in fake.sent()]
    assert [c["type"] for c in calls] == ["text", "image", "text", "audio"]
    assert calls[1]["image"] == {"link": photo.url}
    assert calls[3]["audio"] == {"link": voice.url}  # audio takes no caption: sent before it
    assert len(result.extra_ids) == 3
    await adapter.send(CUSTOMER, Outbound(text="Menü", media=[photo]))
    assert fake.sent()[-1].json["image"] == {"link": photo.url, "caption": "Menü"}


async def test_template(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    await adapter.send(
        CUSTOMER, Outbound(template=Template("order_update", "tr", ("Ayşe", "#1234")))
    )
    assert fake.sent()[0].json["template"] == {
        "name": "order_update",
        "language": {"code": "tr"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ayşe"}, {"type": "text", "text": "#1234"}],
            }
        ],
    }


async def test_long_text_is_split_at_4096(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    text = " ".join(["kelime"] * 1200)  # 8399 characters
    parts = adapter.render(Outbound(text=text), "whatsapp")
    assert len(parts) == 3 and all(len(p.text) <= 4096 for p in parts)
    assert all(adapter.render(p, "whatsapp") == [p] for p in parts)  # idempotent
    result = await adapter.send(CUSTOMER, Outbound(text=text))
    assert len(result.extra_ids) == 2


async def test_429_is_retryable_with_retry_after(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    fake.fail_next(1, status=429, retry_after=3)
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.retry_after, exc.value.code) == (True, 3.0, "130429")


async def test_130429_is_retryable_whatever_the_http_status(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    fake.fail_next(1, status=400, code=130429)
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert exc.value.retryable and exc.value.code == "130429"


async def test_500_is_retryable(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    fake.fail_next(1, status=500)
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert exc.value.retryable


async def test_hang_times_out_as_retryable(adapter: WhatsAppCloudAdapter, fake: FakeGraph) -> None:
    fake.hang_next()
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.code) == (True, "timeout")
    assert (await adapter.send(CUSTOMER, Outbound(text="x"))).provider_message_id  # recovers


async def test_131047_is_window_closed_and_permanent(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    fake.fail_next(1, status=400, code=131047)
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.window_closed, exc.value.code) == (False, True, "131047")
    assert "24 hours" in exc.value.reason


async def test_other_400_is_permanent_with_code(
    adapter: WhatsAppCloudAdapter, fake: FakeGraph
) -> None:
    fake.fail_next(1, status=400, code=131026, message="(#131026) Message Undeliverable")
    with pytest.raises(SendError) as exc:
        await adapter.send(CUSTOMER, Outbound(text="x"))
    assert (exc.value.retryable, exc.value.code, exc.value.window_closed) == (
        False,
        "131026",
        False,
    )
    assert "Message Undeliverable" in exc.value.reason


async def test_bad_token_is_a_permanent_190(fake: FakeGraph) -> None:
    adapter = WhatsAppCloudAdapter(make_settings(fake.base_url, whatsapp_token="expired"))
    try:
        with pytest.raises(SendError) as exc:
            await adapter.send(CUSTOMER, Outbound(text="x"))
        assert (exc.value.retryable, exc.value.code) == (False, "190")
    finally:
        await adapter.close()


# -- end to end over HTTP -----------------------------------------------------------------


async def test_webhooks_and_status_ticks_flow_end_to_end() -> None:
    stub = WebhookStub()
    hook = await stub.start("/webhooks/whatsapp") + "/webhooks/whatsapp"
    fake = FakeGraph(TOKEN, app_secret=SECRET, webhook_url=hook, status_callbacks=True)
    fake.closed_window.add("905559998877")
    adapter = WhatsAppCloudAdapter(make_settings(await fake.start()), timeout=2)
    stub.adapter = adapter
    try:
        answer = await send_meta_webhook(
            hook, whatsapp_text_payload(wa_id=WA_ID, text="çay"), SECRET
        )
        assert answer.status == 200
        forged = await send_meta_webhook(
            hook, whatsapp_text_payload(wa_id=WA_ID, text="x"), "wrong"
        )
        assert forged.status == 403
        result = await adapter.send(CUSTOMER, Outbound(text="Hoş geldiniz"))
        closed = Address("whatsapp", "whatsapp_cloud", PHONE_ID, "+905559998877")
        late = await adapter.send(closed, Outbound(text="Hâlâ orada mısınız?"))
        await fake.drain()
        ticks = [
            (e.provider_message_id, e.status, e.error_code)
            for e in stub.events
            if isinstance(e, StatusUpdate)
        ]
        # Two messages' callbacks run concurrently: compare per message, each in order.
        assert [t for t in ticks if t[0] == result.provider_message_id] == [
            (result.provider_message_id, "sent", ""),
            (result.provider_message_id, "delivered", ""),
            (result.provider_message_id, "read", ""),
        ]
        assert [t for t in ticks if t[0] == late.provider_message_id] == [
            (late.provider_message_id, "failed", "131047")
        ]
        assert all(status == 200 for _, status in fake.callbacks)
    finally:
        await adapter.close()
        await fake.stop()
        await stub.stop()


def test_capabilities() -> None:
    caps = WhatsAppCloudAdapter(make_settings()).capabilities("whatsapp")
    assert (caps.max_text_length, caps.max_buttons, caps.session_window, caps.send_rate) == (
        4096,
        3,
        timedelta(hours=24),
        20.0,
    )
    assert WhatsAppCloudAdapter.webhook_path == "/webhooks/whatsapp"
    assert WhatsAppCloudAdapter.name == "whatsapp_cloud"
