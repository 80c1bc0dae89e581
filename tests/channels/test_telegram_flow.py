"""Telegram end to end: updates delivered by the fake Bot API to the webhook the gateway
registered (or fetched by long polling), replies out through aiogram to the fake."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from adapters.fakes import FakeTelegram
from adapters.fakes.telegram import TgUser
from handlers.faq import load_answers
from tests.channels.stack import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Stack,
    channel_stack,
    eventually,
    inbound,
    outbound,
    settle,
)

USER = TgUser()  # the fake's default customer, Ayşe
IDENTITY = f"telegram:{USER.id}"
SHIPPING = load_answers()["faq_shipping"]["tr"]
OMNIGATE = Path(sys.executable).with_name("omnigate")


async def test_the_gateway_registered_its_webhook_with_the_secret(channels: Stack) -> None:
    webhook = channels.telegram.webhook
    assert webhook["url"] == channels.telegram_url
    assert webhook["secret_token"] == TELEGRAM_SECRET
    assert set(webhook["allowed_updates"]) >= {"message", "edited_message", "callback_query"}


async def test_text_gets_a_reply_with_an_inline_keyboard(channels: Stack) -> None:
    fake = channels.telegram
    answer = await fake.deliver(fake.updates.text("merhaba"))
    assert answer.status == 200
    customer_id = await channels.customer_id(IDENTITY)

    await eventually(lambda: len(fake.calls_to("sendMessage")) == 1, what="a sendMessage")
    (sent,) = fake.calls_to("sendMessage")
    assert int(sent["chat_id"]) == USER.id
    assert sent["text"].startswith("Merhaba Ayşe!")
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == [
        "order_status",
        "faq_shipping",
        "faq_returns",
        "human",
    ]
    assert keyboard[1][0]["text"] == "Kargo ve teslimat"

    messages = await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["sent"]
    )
    reply = outbound(messages)[0]
    assert reply["channel"] == "telegram"
    assert [b["payload"] for b in reply["buttons"]][:2] == ["order_status", "faq_shipping"]


async def test_a_button_press_is_answered_and_drives_the_bot(channels: Stack) -> None:
    fake = channels.telegram
    await fake.deliver(fake.updates.text("merhaba"))
    await eventually(lambda: len(fake.calls_to("sendMessage")) == 1)
    press = fake.updates.callback("faq_shipping", title="Kargo ve teslimat", message_id=1)
    assert (await fake.deliver(press)).status == 200

    query_id = press["callback_query"]["id"]
    await eventually(lambda: fake.answered == [query_id], what="answerCallbackQuery")
    await eventually(lambda: len(fake.calls_to("sendMessage")) == 2, timeout=5)
    assert fake.calls_to("sendMessage")[1]["text"] == SHIPPING

    messages = await channels.gw.transcript(await channels.customer_id(IDENTITY))
    pressed = inbound(messages)[1]
    assert (pressed["kind"], pressed["text"]) == ("button", "Kargo ve teslimat")


async def test_an_edit_is_recorded_without_a_new_reply(channels: Stack) -> None:
    fake = channels.telegram
    original = fake.updates.text("siparişim nerede")
    await fake.deliver(original)
    await eventually(lambda: len(fake.calls_to("sendMessage")) == 1)
    edit = fake.updates.edited(original["message"]["message_id"], "siparişim 12345 nerede")
    assert (await fake.deliver(edit)).status == 200

    customer_id = await channels.customer_id(IDENTITY)
    await channels.wait_transcript(customer_id, lambda ms: len(inbound(ms)) == 2)
    await settle()
    messages = await channels.gw.transcript(customer_id)
    assert [(m["kind"], m["text"]) for m in inbound(messages)] == [
        ("text", "siparişim nerede"),
        ("edit", "siparişim 12345 nerede"),
    ]
    assert len(outbound(messages)) == 1
    assert len(fake.calls_to("sendMessage")) == 1


async def test_group_messages_are_ignored(channels: Stack) -> None:
    fake = channels.telegram
    answer = await fake.deliver(fake.updates.group_text("merhaba herkese"))
    assert answer.status == 200
    await settle()
    assert await channels.transcript_of(IDENTITY) is None
    assert fake.calls_to("sendMessage") == []


async def test_wrong_or_missing_secret_is_401_and_nothing_is_stored(channels: Stack) -> None:
    fake = channels.telegram
    for secret in ("wrong-secret", None, "", TELEGRAM_SECRET + "x"):
        answer = await fake.deliver(fake.updates.text("merhaba"), secret=secret)
        assert answer.status == 401, (secret, answer.status, answer.body)
    await settle()
    assert await channels.transcript_of(IDENTITY) is None
    assert fake.calls_to("sendMessage") == []


async def test_the_same_update_three_times_is_one_message_and_one_reply(
    channels_any: Stack,
) -> None:
    fake = channels_any.telegram
    update = fake.updates.text("merhaba")
    answers = await asyncio.gather(*(fake.deliver(update) for _ in range(3)))
    assert [a.status for a in answers] == [200, 200, 200]
    await eventually(lambda: len(fake.calls_to("sendMessage")) == 1)
    await settle()
    assert len(fake.calls_to("sendMessage")) == 1
    messages = await channels_any.gw.transcript(await channels_any.customer_id(IDENTITY))
    assert len(inbound(messages)) == 1 and len(outbound(messages)) == 1


async def test_retry_after_is_honoured(channels: Stack) -> None:
    fake = channels.telegram
    fake.fail_next(1, status=429, retry_after=1)
    await fake.deliver(fake.updates.text("merhaba"))
    customer_id = await channels.customer_id(IDENTITY)
    await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["sent"]
    )
    sends = [c for c in fake.api_calls if c.method == "sendMessage"]
    assert [c.request.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0


async def test_a_hanging_bot_api_is_retried_after_the_provider_timeout(sqlite_url: str) -> None:
    """OMNIGATE_PROVIDER_TIMEOUT bounds every provider call, Telegram's included."""
    async with channel_stack(sqlite_url, provider_timeout=0.5) as stack:
        fake = stack.telegram
        fake.hang_next(1)
        await fake.deliver(fake.updates.text("merhaba"))
        customer_id = await stack.customer_id(IDENTITY)
        await stack.wait_transcript(
            customer_id,
            lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["sent"],
            timeout=6,
        )
        assert [c.request.status for c in fake.api_calls if c.method == "sendMessage"][-1] == 200


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(channels: Stack) -> None:
    fake = channels.telegram
    fake.block(USER.id)
    await fake.deliver(fake.updates.text("merhaba"))
    customer_id = await channels.customer_id(IDENTITY)
    messages = await channels.wait_transcript(
        customer_id, lambda ms: [m["delivery_status"] for m in outbound(ms)] == ["failed"]
    )
    assert outbound(messages)[0]["error_code"] == "403"
    _, customer = await channels.gw.api(f"/api/v1/customers/{customer_id}")
    assert customer["identities"][0]["unreachable"] is True


async def test_polling_mode_answers_an_update_without_a_webhook(sqlite_url: str) -> None:
    async with channel_stack(sqlite_url, telegram_mode="polling") as stack:
        fake = stack.telegram
        fake.push_update(fake.updates.text("merhaba"))
        await eventually(lambda: len(fake.calls_to("sendMessage")) == 1, what="a polled reply")
        assert fake.calls_to("sendMessage")[0]["text"].startswith("Merhaba Ayşe!")
        assert fake.calls_to("deleteWebhook"), "polling must delete a webhook first"
        # Confirmed: the next getUpdates carries an offset past it, and it is stored once.
        await eventually(lambda: fake.pending_updates == [], what="update confirmed")
        messages = await stack.gw.transcript(await stack.customer_id(IDENTITY))
        assert len(inbound(messages)) == 1


async def test_cli_set_webhook_registers_url_and_secret() -> None:
    fake = FakeTelegram(TELEGRAM_TOKEN)
    await fake.start()
    try:
        env = {
            **os.environ,
            "OMNIGATE_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "OMNIGATE_TELEGRAM_SECRET": TELEGRAM_SECRET,
            "OMNIGATE_TELEGRAM_API_URL": fake.base_url,
            "OMNIGATE_PUBLIC_URL": "https://bot.example.com",
        }
        process = await asyncio.create_subprocess_exec(
            str(OMNIGATE),
            "telegram",
            "set-webhook",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert "https://bot.example.com/webhooks/telegram" in out.decode()
        assert fake.webhook["url"] == "https://bot.example.com/webhooks/telegram"
        assert fake.webhook["secret_token"] == TELEGRAM_SECRET
        assert "callback_query" in fake.webhook["allowed_updates"]
    finally:
        await fake.stop()
