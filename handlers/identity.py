"""Continuity across channels: deep links, arriving with a code, verifying a typed phone."""

from __future__ import annotations

import re

from bot import filters as F
from bot.context import TurnContext
from bot.identity import LINK_CODE
from bot.phones import find_phone
from bot.router import Router
from bot.textnorm import normalize
from handlers.orders import mentions_order_number

SWITCH = re.compile(
    r"\b(telegram|whatsapp)\w*\b.*\b(devam|gec|gecelim|gecmek|yaz)\w*"
    r"|\b(continue|switch|move)\b.*\b(telegram|whatsapp)\b"
)
OTP = re.compile(r"^\s*(\d{6})\s*$")
AWAITING_OTP = "identity:otp"


def wants_switch(ctx: TurnContext) -> bool:
    return bool(SWITCH.search(normalize(ctx.text)))


def typed_phone(ctx: TurnContext) -> bool:
    """An unverified phone number typed in web chat: offer to verify, never merge on it."""
    if ctx.message.channel != "webchat" or not ctx.text:
        return False
    if any(channel == "sms" for channel, _ in ctx.customer.identities):
        return False
    if mentions_order_number(ctx) or ctx.dialog.step is not None:
        return False  # "sipariş 9000000000" or an answer to the bot's question
    return find_phone(ctx.text) is not None


def build() -> Router:
    router = Router("identity")

    @router.message(lambda ctx: bool(ctx.message.extra.get("linked_by_code")))
    async def arrived_with_code(ctx: TurnContext) -> None:
        # The bot's last word before the switch (its open question), not the link offer.
        last_bot = next(
            (
                m.text
                for m in reversed(await ctx.transcript())
                if m.sender == "bot" and m.text and not LINK_CODE.search(m.text)
            ),
            "",
        )
        text = ctx.t(
            "Hoş geldiniz! Konuşmamıza buradan, kaldığımız yerden devam ediyoruz.",
            "Welcome! We continue our conversation here, right where we left off.",
        )
        await ctx.reply(f"{text}\n\n{last_bot}" if last_bot else text)

    @router.message(lambda ctx: bool(ctx.message.extra.get("link_code_invalid")))
    async def invalid_code(ctx: TurnContext) -> None:
        await ctx.reply(
            ctx.t(
                "Bu bağlantının süresi dolmuş ya da daha önce kullanılmış. Sorun değil, "
                "size buradan da yardımcı olabilirim.",
                "This link has expired or was already used. No problem, I can help you here.",
            )
        )

    @router.message(wants_switch)
    async def switch_channel(ctx: TurnContext) -> None:
        channel = "telegram" if "telegram" in normalize(ctx.text) else "whatsapp"
        link = await ctx.link_code(channel)
        if link is None:
            await ctx.reply(
                ctx.t(
                    f"{channel.title()} kanalımız şu an kullanılamıyor.",
                    f"Our {channel.title()} channel is not available right now.",
                )
            )
            return
        await ctx.reply(
            ctx.t(
                f"{channel.title()} üzerinden devam etmek için bu bağlantıyı açın "
                f"(15 dakika geçerli): {link['url']}",
                f"Open this link to continue on {channel.title()} (valid for 15 minutes): "
                f"{link['url']}",
            )
        )

    @router.message(F.button("verify_phone:", prefix=True))
    async def verify_phone(ctx: TurnContext) -> None:
        phone = ctx.payload.split(":", 1)[1]
        if phone == "no":
            await ctx.reply(
                ctx.t("Peki, numaranızı kaydetmedim.", "OK, I did not save the number.")
            )
            return
        sent = await ctx.verify_phone(
            phone,
            ctx.t("Doğrulama kodunuz: {code} (10 dakika geçerli)", "Your code: {code} (10 min)"),
        )
        if not sent:
            await ctx.reply(
                ctx.t("Şu an SMS ile doğrulama yapamıyorum.", "I cannot verify by SMS right now.")
            )
            return
        ctx.goto(AWAITING_OTP)
        await ctx.reply(
            ctx.t(
                "Numaranıza 6 haneli bir kod gönderdim. Kodu buraya yazar mısınız?",
                "I sent a 6-digit code to your number. Please type it here.",
            )
        )

    @router.message(F.state(AWAITING_OTP), F.regex(OTP.pattern))
    async def otp_given(ctx: TurnContext) -> None:
        assert ctx.match is not None
        phone = await ctx.confirm_phone(ctx.match.group(1))
        if phone is None:
            await ctx.reply(
                ctx.t(
                    "Kod doğru değil, tekrar dener misiniz?", "That code is not right, try again?"
                )
            )
            return
        ctx.reset()
        await ctx.reply(
            ctx.t(
                f"Teşekkürler, {phone} numaranız doğrulandı. SMS ve WhatsApp yazışmalarınız artık "
                "bu konuşmada.",
                f"Thanks, {phone} is verified. Your SMS and WhatsApp messages now join this "
                "conversation.",
            )
        )

    @router.message(typed_phone)
    async def offer_verification(ctx: TurnContext) -> None:
        phone = find_phone(ctx.text)
        await ctx.reply(
            ctx.t(
                f"{phone} numarasını hesabınıza eklemek için SMS ile doğrulayalım mı?",
                f"Shall I verify {phone} by SMS to add it to your profile?",
            ),
            buttons=[
                (ctx.t("Evet, kod gönder", "Yes, send a code"), f"verify_phone:{phone}"),
                (ctx.t("Hayır", "No"), "verify_phone:no"),
            ],
        )

    return router
