"""A request for a person: the conversation is queued for an agent and the bot goes quiet."""

from __future__ import annotations

from bot import filters as F
from bot.context import TurnContext
from bot.router import Router


def build() -> Router:
    router = Router("human")

    @router.message(F.intent("human"))
    async def human(ctx: TurnContext) -> None:
        ctx.reset()
        ctx.handoff("customer_request")
        await ctx.reply(
            ctx.t(
                "Sizi bir müşteri temsilcisine aktarıyorum. Yazdıklarınız temsilcimize iletilecek, "
                "aynı şeyleri tekrar anlatmanıza gerek yok.",
                "I am passing you to a customer agent. They will see this conversation, so you "
                "won't need to repeat yourself.",
            )
        )

    return router
