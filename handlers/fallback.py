"""What the bot says when nothing else matched: an honest "I did not get that" and a menu."""

from __future__ import annotations

from bot.context import TurnContext
from handlers.smalltalk import menu


async def fallback(ctx: TurnContext) -> None:
    if ctx.message.kind in ("media", "location", "contact"):
        text = ctx.t(
            "Gönderiniz için teşekkürler, kaydettim. Size nasıl yardımcı olabilirim?",
            "Thanks, I have saved what you sent. How can I help?",
        )
    else:
        text = ctx.t(
            "Bunu tam anlayamadım. Aşağıdaki konulardan birini seçebilir ya da sorunuzu farklı "
            "yazabilirsiniz.",
            "Sorry, I did not get that. Pick a topic below or rephrase your question.",
        )
    await ctx.reply(text, buttons=menu(ctx))
