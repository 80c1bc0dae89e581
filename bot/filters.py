"""Filters for router handlers: plain callables of the turn context."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.textnorm import normalize as fold

if TYPE_CHECKING:
    from bot.context import TurnContext
    from bot.router import Filter


def text(*words: str) -> Filter:
    """The whole message equals one of `words` (Turkish-aware, diacritics ignored)."""
    wanted = {fold(w) for w in words}

    def check(ctx: TurnContext) -> bool:
        return fold(ctx.text) in wanted

    return check


def regex(pattern: str, flags: int = re.IGNORECASE) -> Filter:
    compiled = re.compile(pattern, flags)

    def check(ctx: TurnContext) -> bool:
        match = compiled.search(ctx.text)
        if match:
            ctx.match = match
        return match is not None

    return check


def intent(*names: str) -> Filter:
    def check(ctx: TurnContext) -> bool:
        found = ctx.intent
        return found is not None and found.name in names

    return check


def state(*steps: str | None) -> Filter:
    """The conversation's dialog is at one of `steps` (None: no dialog running)."""

    def check(ctx: TurnContext) -> bool:
        return ctx.dialog.step in steps

    return check


def button(*payloads: str, prefix: bool = False) -> Filter:
    def check(ctx: TurnContext) -> bool:
        payload = ctx.payload
        if not payload:
            return False
        if prefix:
            return any(payload.startswith(p) for p in payloads)
        return payload in payloads

    return check


def kind(*kinds: str) -> Filter:
    def check(ctx: TurnContext) -> bool:
        return ctx.message.kind in kinds

    return check


def channel(*channels: str) -> Filter:
    def check(ctx: TurnContext) -> bool:
        return ctx.message.channel in channels

    return check
