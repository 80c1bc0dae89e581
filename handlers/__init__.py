"""The default bot: what it says and does. Plain handlers grouped in routers.

`build_router()` assembles them; a deployer can build their own router from these pieces
or replace the order source.
"""

from __future__ import annotations

from pathlib import Path

from bot.router import Router
from handlers import faq, human, identity, orders, smalltalk
from handlers.fallback import fallback
from handlers.orders import OrderSource, YamlOrderSource

INTENTS_FILE = Path(__file__).parent / "data" / "intents.yaml"


def build_router(order_source: OrderSource | None = None) -> Router:
    root = Router("default-bot")
    # First match wins: arriving with a link code comes first, then a request for a person
    # beats any dialog in progress, then the dialog steps, then plain intents.
    root.include(
        identity.build(),
        human.build(),
        orders.build(order_source or YamlOrderSource()),
        faq.build(faq.load_answers()),
        smalltalk.build(),
    )
    root.fallback()(fallback)
    return root


__all__ = ["INTENTS_FILE", "build_router"]
