"""FAQ answers from a YAML file: intent name -> {tr: …, en: …}."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import filters as F
from bot.context import TurnContext
from bot.router import Router

DATA = Path(__file__).parent / "data"


def load_answers(path: Path = DATA / "faq.yaml") -> dict[str, dict[str, str]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(name): {str(k): str(v) for k, v in texts.items()} for name, texts in raw.items()}


def build(answers: dict[str, dict[str, str]]) -> Router:
    router = Router("faq")

    @router.message(F.intent(*answers))
    async def faq(ctx: TurnContext) -> None:
        assert ctx.intent is not None
        texts = answers[ctx.intent.name]
        ctx.reset()
        await ctx.reply(texts.get(ctx.language) or next(iter(texts.values())))

    return router
