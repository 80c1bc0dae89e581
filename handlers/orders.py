"""Order status: asks for the order number (unless given) and answers from an OrderSource."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from bot import filters as F
from bot.context import TurnContext
from bot.router import Router
from bot.textnorm import normalize

DATA = Path(__file__).parent / "data"
ORDER_NUMBER = re.compile(r"(?<!\d)(\d{4,12})(?!\d)")
AWAITING_NUMBER = "order:number"
# "sipariş 12345", "SİPARİŞİM 12345 nerede", "order #12345": a number next to an order word.
ORDER_WORDS = re.compile(r"\b(siparis\w*|order\w*|kargo\w*|paket\w*|package\w*)\b")


def mentions_order_number(ctx: TurnContext) -> bool:
    if ctx.message.kind != "text":  # a shared contact's phone number is not an order number
        return False
    return bool(ORDER_NUMBER.search(ctx.text)) and bool(ORDER_WORDS.search(normalize(ctx.text)))


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    status: str
    carrier: str = ""
    tracking: str = ""
    eta_days: str = ""
    delivered_on: str = ""


class OrderSource(Protocol):
    """Where order facts come from; replace the demo file with the shop's own system."""

    async def get(self, number: str) -> Order | None: ...


class YamlOrderSource:
    def __init__(self, path: Path = DATA / "orders.yaml") -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        self._orders = {
            str(number): Order(number=str(number), **{k: str(v) for k, v in fields.items()})
            for number, fields in raw.items()
        }

    async def get(self, number: str) -> Order | None:
        return self._orders.get(number)


def describe(ctx: TurnContext, order: Order | None, number: str) -> str:
    if order is None:
        return ctx.t(
            f"{number} numaralı bir sipariş bulamadım. Numarayı kontrol edip tekrar yazar mısınız?",
            f"I could not find an order numbered {number}. Could you check the number?",
        )
    if order.status == "shipped":
        return ctx.t(
            f"{number} numaralı siparişiniz kargoda: {order.carrier}, takip no {order.tracking}. "
            f"Tahmini teslimat: {order.eta_days} iş günü.",
            f"Order {number} is on its way with {order.carrier}, tracking {order.tracking}. "
            f"Expected in {order.eta_days} business days.",
        )
    if order.status == "preparing":
        return ctx.t(
            f"{number} numaralı siparişiniz hazırlanıyor; kargoya verildiğinde haber vereceğiz.",
            f"Order {number} is being prepared; we will tell you when it ships.",
        )
    if order.status == "delivered":
        return ctx.t(
            f"{number} numaralı siparişiniz {order.delivered_on} tarihinde teslim edildi.",
            f"Order {number} was delivered on {order.delivered_on}.",
        )
    if order.status == "cancelled":
        return ctx.t(
            f"{number} numaralı sipariş iptal edilmiş. Ücret iadesi 3 iş günü içinde yapılır.",
            f"Order {number} was cancelled. The refund is made within 3 business days.",
        )
    return ctx.t(
        f"{number} numaralı siparişin durumu: {order.status}.",
        f"Order {number} status: {order.status}.",
    )


def build(source: OrderSource) -> Router:
    router = Router("orders")

    async def answer(ctx: TurnContext, number: str) -> None:
        ctx.reset()
        await ctx.reply(describe(ctx, await source.get(number), number))

    @router.message(F.state(AWAITING_NUMBER), F.kind("text"), F.regex(ORDER_NUMBER.pattern))
    async def order_number_given(ctx: TurnContext) -> None:
        assert ctx.match is not None
        await answer(ctx, ctx.match.group(1))

    @router.message(mentions_order_number)
    async def order_number_in_text(ctx: TurnContext) -> None:
        found = ORDER_NUMBER.search(ctx.text)
        assert found is not None
        await answer(ctx, found.group(1))

    @router.message(F.intent("order_status"))
    async def order_status(ctx: TurnContext) -> None:
        found = ORDER_NUMBER.search(ctx.text)
        if found:
            await answer(ctx, found.group(1))
            return
        ctx.goto(AWAITING_NUMBER, asked=ctx.dialog.data.get("asked", 0) + 1)
        await ctx.reply(
            ctx.t(
                "Siparişinize bakayım. Sipariş numaranızı yazar mısınız? (ör. 12345)",
                "Let me check your order. What is your order number? (e.g. 12345)",
            )
        )

    @router.message(F.state(AWAITING_NUMBER), lambda ctx: ctx.intent is None)
    async def not_a_number(ctx: TurnContext) -> None:
        asked = int(ctx.dialog.data.get("asked", 1))
        if asked >= 2:
            ctx.reset()
            await ctx.reply(
                ctx.t(
                    "Sipariş numarasını anlayamadım. Dilerseniz sizi bir temsilciye aktarabilirim.",
                    "I could not read an order number. I can connect you to an agent if you like.",
                ),
                buttons=[(ctx.t("Canlı destek", "Talk to an agent"), "human")],
            )
            return
        ctx.goto(AWAITING_NUMBER, asked=asked + 1)
        await ctx.reply(
            ctx.t(
                "Sipariş numarası 4-12 haneli bir sayıdır, ör. 12345. Tekrar yazar mısınız?",
                "An order number has 4 to 12 digits, e.g. 12345. Could you type it again?",
            )
        )

    return router
