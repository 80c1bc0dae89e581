"""Routers of `async def handler(ctx)` functions, in the spirit of aiogram's routers.

Handlers are registered with filters; the first handler whose filters all pass handles the
turn. Child routers are tried in the order they were included; the root's fallback answers
what nobody handled.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import TurnContext

Handler = Callable[["TurnContext"], Awaitable[Any]]
Filter = Callable[["TurnContext"], bool | Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    filters: tuple[Filter, ...]

    async def matches(self, ctx: TurnContext) -> bool:
        for check in self.filters:
            result = check(ctx)
            if inspect.isawaitable(result):
                result = await result
            if not result:
                return False
        return True


class Router:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.routes: list[Route] = []
        self.children: list[Router] = []
        self.fallback_handler: Handler | None = None

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        """Register a handler for turns that pass every filter."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(handler, filters))
            return handler

        return register

    def fallback(self) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.fallback_handler = handler
            return handler

        return register

    def include(self, *routers: Router) -> Router:
        self.children.extend(routers)
        return self

    async def dispatch(self, ctx: TurnContext) -> Handler | None:
        """Run the first matching handler; returns it, or None when nothing matched."""
        for route in self.routes:
            if await route.matches(ctx):
                await route.handler(ctx)
                return route.handler
        for child in self.children:
            handled = await child.dispatch(ctx)
            if handled is not None:
                return handled
        return None

    async def handle(self, ctx: TurnContext) -> Handler | None:
        handled = await self.dispatch(ctx)
        if handled is None and self.fallback_handler is not None:
            ctx.unhandled = True
            await self.fallback_handler(ctx)
            return self.fallback_handler
        return handled
