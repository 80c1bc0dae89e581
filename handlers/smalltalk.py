"""Greeting, thanks and goodbye."""

from __future__ import annotations

from bot import filters as F
from bot.context import TurnContext
from bot.router import Router


def menu(ctx: TurnContext) -> list[tuple[str, str]]:
    return [
        (ctx.t("Sipariş durumu", "Order status"), "order_status"),
        (ctx.t("Kargo ve teslimat", "Shipping"), "faq_shipping"),
        (ctx.t("İade ve değişim", "Returns"), "faq_returns"),
        (ctx.t("Canlı destek", "Talk to an agent"), "human"),
    ]


def build() -> Router:
    router = Router("smalltalk")

    @router.message(F.intent("greeting"))
    async def greeting(ctx: TurnContext) -> None:
        name = ctx.customer.display_name.split(" ")[0] if ctx.customer.display_name else ""
        hello = ctx.t(f"Merhaba {name}!", f"Hello {name}!").replace(" !", "!")
        await ctx.reply(
            hello
            + ctx.t(
                " Ben mağazamızın dijital asistanıyım. Sipariş, kargo, iade ve ödeme konularında "
                "yardımcı olabilirim.",
                " I am the store's digital assistant. I can help with orders, shipping, returns "
                "and payments.",
            ),
            buttons=menu(ctx),
        )

    @router.message(F.intent("thanks"))
    async def thanks(ctx: TurnContext) -> None:
        await ctx.reply(
            ctx.t(
                "Rica ederim! Başka bir konuda yardımcı olabilir miyim?",
                "You're welcome! Anything else I can help with?",
            )
        )

    @router.message(F.intent("goodbye"))
    async def goodbye(ctx: TurnContext) -> None:
        ctx.reset()
        await ctx.reply(ctx.t("İyi günler dileriz, görüşmek üzere!", "Have a nice day, bye!"))

    return router
