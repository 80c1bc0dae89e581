"""The Telegram adapter against the fake Bot API, over real HTTP both ways.

Webhooks travel fake -> `WebhookStub` (the gateway's route logic) -> adapter; sends travel
adapter -> aiogram -> fake, and the assertions read what the fake received on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.base import RawRequest, SendError, WebhookRejected
from adapters.fakes.telegram import DEFAULT_TOKEN, FakeTelegram
from adapters.telegram import ALLOWED_UPDATES, TelegramAdapter
from adapters.telegram_render import callback_data, resolve_payload
from bot.model import Address, Button, Event, Inbound, Kind, Media, Outbound
from bot.settings import Settings
from tests.adapters.webhook_stub import WebhookStub

SECRET = "s3cr3t-Token_42"
BOT_ID = DEFAULT_TOKEN.partition(":")[0]
USER_ID = 111_222_333


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(fake: FakeTelegram) -> Settings:
    return Settings(
        telegram_token=DEFAULT_TOKEN, telegram_secret=SECRET, telegram_api_url=fake.base_url
    )


@pytest.fixture
async def adapter(settings: Settings) -> AsyncIterator[TelegramAdapter]:
    telegram = TelegramAdapter(settings, request_timeout=2.0)
    await telegram.start()
    yield telegram
    await telegram.close()


@pytest.fixture
async def stub(adapter: TelegramAdapter) -> AsyncIterator[WebhookStub]:
    """The gateway's webhook route, registered with the fake through our own setWebhook."""
    server = WebhookStub()
    server.adapter = adapter
    base = await server.start(adapter.webhook_path)
    await adapter.set_webhook(base + adapter.webhook_path)
    yield server
    await server.stop()


async def deliver_one(fake: FakeTelegram, stub: WebhookStub, update: dict[str, Any]) -> Inbound:
    answer = await fake.deliver(update)
    assert answer.status == 200, answer.body
    assert len(stub.events) == 1
    event = stub.events.pop()
    assert isinstance(event, Inbound)
    assert event.provider_id == f"update:{update['update_id']}"
    return event


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


# -- webhook: setWebhook and the secret ---------------------------------------------------


async def test_set_webhook_sends_secret_and_allowed_updates(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    url = await adapter.set_webhook("https://bot.example.com/webhooks/telegram")
    call = fake.calls_to("setWebhook")[-1]
    assert call["url"] == url == "https://bot.example.com/webhooks/telegram"
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == list(ALLOWED_UPDATES)
    assert (await adapter.webhook_info())["url"] == url


async def test_set_webhook_refuses_a_secret_telegram_would_refuse(settings: Settings) -> None:
    telegram = TelegramAdapter(replace(settings, telegram_secret="has spaces!"))
    with pytest.raises(ValueError, match="OMNIGATE_TELEGRAM_SECRET"):
        await telegram.set_webhook("https://bot.example.com/webhooks/telegram")


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong", "missing"])
async def test_forged_webhooks_are_rejected(
    fake: FakeTelegram, stub: WebhookStub, secret: str | None
) -> None:
    answer = await fake.deliver(fake.updates.text("merhaba"), secret=secret)
    assert answer.status == 401
    assert stub.events == []
    assert "X-Telegram-Bot-Api-Secret-Token" in stub.rejected[0].reason


async def test_without_a_configured_secret_every_webhook_is_rejected(settings: Settings) -> None:
    telegram = TelegramAdapter(replace(settings, telegram_secret=""))
    request = RawRequest("POST", "https://x/webhooks/telegram", {}, b"{}")
    with pytest.raises(WebhookRejected) as rejected:
        await telegram.verify(request)
    assert rejected.value.status == 401
    assert "OMNIGATE_TELEGRAM_SECRET is not set" in rejected.value.reason


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": 1, "message": {"text": "x"}}'],
    ids=["not-json", "array", "no-update-id", "no-chat"],
)
async def test_malformed_updates_get_400(
    fake: FakeTelegram, stub: WebhookStub, body: bytes
) -> None:
    answer = await fake.deliver(body)
    assert answer.status == 400
    assert stub.events == []


# -- webhook: every update type ------------------------------------------------------------


async def test_text_message(fake: FakeTelegram, stub: WebhookStub) -> None:
    update = fake.updates.text("Merhaba, siparişim nerede?")
    event = await deliver_one(fake, stub, update)
    assert event.kind == Kind.TEXT
    assert event.text == "Merhaba, siparişim nerede?"
    assert event.address == Address("telegram", "telegram", BOT_ID, str(USER_ID))
    assert event.external_id == str(USER_ID)
    assert event.profile_name == "Ayşe Yılmaz"
    assert event.timestamp == datetime.fromtimestamp(update["message"]["date"], UTC)
    assert event.raw == update
    assert event.extra["language_code"] == "tr"


async def test_start_deep_link_payload(fake: FakeTelegram, stub: WebhookStub) -> None:
    event = await deliver_one(fake, stub, fake.updates.start("campaign-42"))
    assert event.text == "/start campaign-42"
    assert event.extra["start_payload"] == "campaign-42"


async def test_photo_keeps_the_largest_size(fake: FakeTelegram, stub: WebhookStub) -> None:
    update = fake.updates.photo(caption="kırık ürün")
    event = await deliver_one(fake, stub, update)
    assert event.kind == Kind.MEDIA
    largest = update["message"]["photo"][-1]["file_id"]
    assert event.media == [
        Media(url="", content_type="image/jpeg", caption="kırık ürün", ref=largest)
    ]
    assert event.text == "kırık ürün"


async def test_document_and_voice(fake: FakeTelegram, stub: WebhookStub) -> None:
    document = await deliver_one(fake, stub, fake.updates.document("fatura.pdf"))
    assert document.media[0].content_type == "application/pdf"
    assert document.extra["file_name"] == "fatura.pdf"
    voice = await deliver_one(fake, stub, fake.updates.voice())
    assert voice.kind == Kind.MEDIA
    assert voice.media[0].content_type == "audio/ogg"
    assert voice.media[0].ref.startswith("AwAC")


async def test_location(fake: FakeTelegram, stub: WebhookStub) -> None:
    event = await deliver_one(fake, stub, fake.updates.location(41.0082, 28.9784))
    assert event.kind == Kind.LOCATION
    assert event.extra["location"] == {"latitude": 41.0082, "longitude": 28.9784}


@pytest.mark.parametrize("own", [True, False])
async def test_contact_own_number_is_flagged(
    fake: FakeTelegram, stub: WebhookStub, own: bool
) -> None:
    event = await deliver_one(fake, stub, fake.updates.contact("+905551112233", own=own))
    assert event.kind == Kind.CONTACT
    contact = event.extra["contact"]
    assert contact["phone_number"] == "+905551112233"
    assert contact["own"] is own
    assert (contact["user_id"] == USER_ID) is own


async def test_callback_query_becomes_a_button_and_is_answered(
    adapter: TelegramAdapter, fake: FakeTelegram, stub: WebhookStub
) -> None:
    update = fake.updates.callback("order:yes", title="Evet")
    event = await deliver_one(fake, stub, update)
    assert event.kind == Kind.BUTTON
    assert event.payload == "order:yes"
    assert event.text == "Evet"
    query_id = update["callback_query"]["id"]
    assert event.extra["callback_query_id"] == query_id
    await adapter.acknowledge([event])  # the gateway does this once the event is stored
    assert fake.answered == [query_id]


async def test_acknowledge_failures_are_logged_not_raised(
    adapter: TelegramAdapter, fake: FakeTelegram, stub: WebhookStub
) -> None:
    event = await deliver_one(fake, stub, fake.updates.callback("x"))
    fake.fail_next(status=400, message="Bad Request: query is too old")
    await adapter.acknowledge([event])
    assert fake.answered == []


async def test_edited_message_is_an_edit(fake: FakeTelegram, stub: WebhookStub) -> None:
    event = await deliver_one(fake, stub, fake.updates.edited(7, "düzeltme: 3 adet"))
    assert event.kind == Kind.EDIT
    assert event.text == "düzeltme: 3 adet"
    assert event.extra["edited_message_id"] == 7


async def test_group_chats_are_ignored_unless_allowed(
    fake: FakeTelegram, stub: WebhookStub, settings: Settings
) -> None:
    update = fake.updates.group_text("hello group")
    answer = await fake.deliver(update)
    assert answer.status == 200  # acknowledged, so Telegram does not retry it
    assert stub.events == []

    groups = TelegramAdapter(replace(settings, telegram_allow_groups=True))
    request = RawRequest("POST", "https://x", {}, json.dumps(update).encode())
    [event] = groups.parse(request)
    assert isinstance(event, Inbound)
    assert event.address.chat_id == str(update["message"]["chat"]["id"])
    assert event.external_id == str(USER_ID)
    assert event.extra["chat_type"] == "supergroup"


@pytest.mark.parametrize(
    "kind,body",
    [
        ("poll", {"id": "5", "question": "?", "options": [], "total_voter_count": 0}),
        ("my_chat_member", {"chat": {"id": 1, "type": "private"}, "date": 1}),
    ],
)
async def test_unknown_update_types_are_acknowledged_and_ignored(
    fake: FakeTelegram, stub: WebhookStub, kind: str, body: dict[str, Any]
) -> None:
    answer = await fake.deliver(fake.updates.update(kind, body))
    assert answer.status == 200
    assert stub.events == []


# -- sending -------------------------------------------------------------------------------

CHAT = Address("telegram", "telegram", BOT_ID, str(USER_ID))


async def test_send_text(adapter: TelegramAdapter, fake: FakeTelegram) -> None:
    result = await adapter.send(CHAT, Outbound(text="Siparişiniz yolda."))
    [message] = fake.sent
    assert result.provider_message_id == f"{USER_ID}:{message['message_id']}"
    # Form values, as aiogram puts them on the wire.
    assert fake.calls_to("sendMessage") == [{"chat_id": str(USER_ID), "text": "Siparişiniz yolda."}]


async def test_long_text_is_split_on_word_boundaries(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    words = [f"kelime{i}" for i in range(700)]  # about 6,000 characters
    result = await adapter.send(CHAT, Outbound(text=" ".join(words)))
    texts = [call["text"] for call in fake.calls_to("sendMessage")]
    assert len(texts) == 2
    assert all(len(t) <= 4096 for t in texts)
    assert " ".join(texts).split(" ") == words  # no word cut, none lost
    assert len(result.extra_ids) == 1


async def test_buttons_become_an_inline_keyboard_on_the_wire(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    buttons = [Button("Evet", "order:yes"), Button("Hayır", "order:no")]
    await adapter.send(CHAT, Outbound(text="Onaylıyor musunuz?", buttons=buttons))
    call = fake.api_calls[-1]
    assert call.method == "sendMessage"
    # aiogram sends a form whose reply_markup is a JSON string, as the Bot API documents.
    assert isinstance(call.request.form["reply_markup"], str)
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Evet", "callback_data": "order:yes"}],
            [{"text": "Hayır", "callback_data": "order:no"}],
        ]
    }


async def test_a_payload_over_64_bytes_is_sent_as_a_digest(
    adapter: TelegramAdapter, fake: FakeTelegram, stub: WebhookStub
) -> None:
    long_button = Button("Detay", "product:" + "ş" * 60)
    await adapter.send(CHAT, Outbound(text="?", buttons=[long_button]))
    [[sent]] = fake.calls_to("sendMessage")[0]["reply_markup"]["inline_keyboard"]
    assert len(sent["callback_data"].encode()) <= 64
    event = await deliver_one(
        fake, stub, fake.updates.callback(sent["callback_data"], title="Detay")
    )
    assert event.extra["payload_digest"] is True
    assert resolve_payload(event.payload, [Button("x", "y"), long_button]) == long_button.payload
    assert callback_data("short") == "short"


async def test_media_by_url(adapter: TelegramAdapter, fake: FakeTelegram) -> None:
    photo = Media(url="https://cdn.example.com/p/123.jpg", content_type="image/jpeg")
    await adapter.send(CHAT, Outbound(text="Ürün fotoğrafı", media=[photo]))
    assert fake.calls_to("sendPhoto") == [
        {"chat_id": str(USER_ID), "photo": photo.url, "caption": "Ürün fotoğrafı"}
    ]
    pdf = Media(url="https://cdn.example.com/f/fatura.pdf", content_type="application/pdf")
    result = await adapter.send(CHAT, Outbound(media=[pdf]))
    assert fake.calls_to("sendDocument")[0]["document"] == pdf.url
    assert result.provider_message_id == f"{USER_ID}:{fake.sent[-1]['message_id']}"


async def test_a_caption_over_1024_characters_follows_as_text(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    photo = Media(url="https://cdn.example.com/p/1.png", content_type="image/png")
    await adapter.send(CHAT, Outbound(text="a " * 700, media=[photo]))
    assert "caption" not in fake.calls_to("sendPhoto")[0]
    assert len(fake.calls_to("sendMessage")) == 1


async def test_empty_message_is_a_permanent_error(adapter: TelegramAdapter) -> None:
    with pytest.raises(SendError) as failed:
        await adapter.send(CHAT, Outbound())
    assert not failed.value.retryable


@pytest.mark.parametrize(
    "status,retryable,code",
    [
        (429, True, "429"),
        (500, True, "5xx"),
        (502, True, "decode"),
        (403, False, "403"),
        (400, False, "400"),
    ],
)
async def test_send_errors_are_classified(
    adapter: TelegramAdapter, fake: FakeTelegram, status: int, retryable: bool, code: str
) -> None:
    fake.fail_next(status=status, retry_after=3 if status == 429 else None)
    with pytest.raises(SendError) as failed:
        await adapter.send(CHAT, Outbound(text="hi"))
    error = failed.value
    assert (error.retryable, error.code) == (retryable, code)
    assert error.unreachable is (status == 403)
    if status == 429:
        assert error.retry_after == 3.0
    if status == 403:
        assert "bot was blocked by the user" in error.reason
    # The next call goes through: a script of one failure is one failure.
    assert (await adapter.send(CHAT, Outbound(text="hi"))).provider_message_id


async def test_a_blocked_bot_marks_the_user_unreachable(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.block(USER_ID)
    with pytest.raises(SendError) as failed:
        await adapter.send(CHAT, Outbound(text="hi"))
    assert failed.value.unreachable and not failed.value.retryable


async def test_a_hanging_api_is_a_retryable_timeout(settings: Settings, fake: FakeTelegram) -> None:
    telegram = TelegramAdapter(settings, request_timeout=0.3)
    try:
        fake.hang_next()
        with pytest.raises(SendError) as failed:
            await telegram.send(CHAT, Outbound(text="hi"))
        assert failed.value.retryable
        assert failed.value.code == "timeout"
    finally:
        await telegram.close()


async def test_a_revoked_token_is_permanent(settings: Settings) -> None:
    telegram = TelegramAdapter(replace(settings, telegram_token="999:revoked-token"))
    try:
        with pytest.raises(SendError) as failed:
            await telegram.send(CHAT, Outbound(text="hi"))
        assert (failed.value.retryable, failed.value.code) == (False, "401")
    finally:
        await telegram.close()


async def test_unconfigured_adapter_is_idle_and_refuses_to_send() -> None:
    telegram = TelegramAdapter(Settings())
    assert not telegram.configured
    await telegram.start()
    with pytest.raises(SendError) as failed:
        await telegram.send(CHAT, Outbound(text="hi"))
    assert failed.value.code == "not_configured"
    await telegram.close()


def test_capabilities(settings: Settings) -> None:
    caps = TelegramAdapter(replace(settings, telegram_send_rate=12.0)).capabilities("telegram")
    assert (caps.max_text_length, caps.max_buttons, caps.media, caps.markdown) == (
        4096,
        8,
        True,
        False,
    )
    assert (caps.send_rate, caps.per_chat_rate) == (12.0, 1.0)


# -- polling -------------------------------------------------------------------------------


def polling_adapter(
    settings: Settings, sink: Callable[[list[Event]], Awaitable[None]]
) -> TelegramAdapter:
    telegram = TelegramAdapter(
        replace(settings, telegram_mode="polling"),
        request_timeout=2.0,
        poll_timeout=1,
        poll_backoff=(0.05, 0.2),
    )
    telegram.bind(sink)
    return telegram


async def test_polling_hands_updates_to_the_sink(settings: Settings, fake: FakeTelegram) -> None:
    fake.webhook["url"] = "https://old.example.com/hook"  # getUpdates answers 409 until deleted
    received: list[Event] = []

    async def sink(events: list[Event]) -> None:
        received.extend(events)

    telegram = polling_adapter(settings, sink)
    await telegram.start()
    try:
        text, button = fake.updates.text("selam"), fake.updates.callback("menu:1")
        fake.push_update(text)
        fake.push_update(button)
        await eventually(lambda: len(received) == 2 and bool(fake.answered))
        assert [e.provider_id for e in received] == [
            f"update:{text['update_id']}",
            f"update:{button['update_id']}",
        ]
        assert fake.answered == [button["callback_query"]["id"]]
        methods = [c.method for c in fake.api_calls]
        assert methods.index("deleteWebhook") < methods.index("getUpdates")
        assert fake.calls_to("getUpdates")[0]["allowed_updates"] == list(ALLOWED_UPDATES)
        await eventually(lambda: fake.pending_updates == [])  # confirmed by the next offset
    finally:
        await telegram.close()


async def test_polling_redelivers_when_the_sink_fails(
    settings: Settings, fake: FakeTelegram
) -> None:
    attempts: list[list[str]] = []
    stored: list[Event] = []

    async def flaky_sink(events: list[Event]) -> None:
        attempts.append([e.provider_id for e in events])
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        stored.extend(events)

    telegram = polling_adapter(settings, flaky_sink)
    await telegram.start()
    try:
        update = fake.updates.text("kaybolma")
        fake.push_update(update)
        await eventually(lambda: len(stored) == 1)
        assert attempts == [[f"update:{update['update_id']}"]] * 2
        offsets = [call.get("offset") for call in fake.calls_to("getUpdates")]
        assert offsets[:2] == [None, None]  # not confirmed while the sink failed
        await eventually(lambda: fake.pending_updates == [])
    finally:
        await telegram.close()


async def test_polling_needs_a_sink(settings: Settings) -> None:
    telegram = TelegramAdapter(replace(settings, telegram_mode="polling"))
    with pytest.raises(RuntimeError, match="bind"):
        await telegram.start()
    await telegram.close()
