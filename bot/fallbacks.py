"""Two fallback turns in a row ("I did not get that") queue the conversation for a person."""

from __future__ import annotations

from bot.context import TurnContext
from bot.model import Kind

LIMIT = 2
KEY = "fallbacks"  # in the conversation's dialog memory


async def count_misses(ctx: TurnContext) -> None:
    """Call after the router handled the turn (`ctx.unhandled` = the fallback answered)."""
    if not ctx.unhandled or ctx.handoff_reason:
        ctx.memory[KEY] = 0
        return
    if ctx.message.kind not in (Kind.TEXT, Kind.BUTTON):
        return  # a photo the bot cannot read is no misunderstanding
    misses = int(ctx.memory.get(KEY) or 0) + 1
    if misses < LIMIT:
        ctx.memory[KEY] = misses
        return
    ctx.memory[KEY] = 0
    ctx.handoff("bot_failed_twice")
    ctx.replies.clear()  # not a third "please rephrase": say what happens instead
    await ctx.reply(
        ctx.t(
            "Sizi tam anlayamadım, kusura bakmayın. Sizi bir müşteri temsilcisine aktarıyorum; "
            "yazdıklarınızı görecek.",
            "Sorry, I could not understand. I am passing you to a customer agent, who will "
            "see this conversation.",
        )
    )
