"""Scored suggestions of customers that may be the same person. Never merged automatically."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.textnorm import normalize
from storage.tables import CustomerRow

# How many recent customers the name comparison looks at (a bounded, predictable cost).
NAME_SCAN = 5000
MIN_SCORE = 35.0


def _phone_tail(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-10:]


def score(a: CustomerRow, b: CustomerRow) -> tuple[float, list[str]]:
    reasons: list[str] = []
    total = 0.0
    if a.phone and b.phone:
        if a.phone == b.phone:
            total += 60
            reasons.append("same phone")
        elif _phone_tail(a.phone)[-7:] == _phone_tail(b.phone)[-7:]:
            total += 25
            reasons.append("similar phone")
    if a.email and b.email:
        left, right = a.email.lower(), b.email.lower()
        if left == right:
            total += 60
            reasons.append("same email")
        elif fuzz.ratio(left, right) >= 90:
            total += 30
            reasons.append("similar email")
    if a.display_name and b.display_name:
        similarity = fuzz.token_sort_ratio(normalize(a.display_name), normalize(b.display_name))
        if similarity >= 85:
            total += similarity * 0.5
            reasons.append(f"similar name ({similarity:.0f})")
    return min(total, 100.0), reasons


async def suggestions(
    session: AsyncSession, customer: CustomerRow, limit: int = 10
) -> list[dict[str, Any]]:
    live = (
        CustomerRow.merged_into.is_(None),
        CustomerRow.erased_at.is_(None),
        CustomerRow.id != customer.id,
    )
    candidates: dict[int, CustomerRow] = {}
    for column, value in ((CustomerRow.phone, customer.phone), (CustomerRow.email, customer.email)):
        if value:
            for row in await session.scalars(select(CustomerRow).where(column == value, *live)):
                candidates[row.id] = row
    if customer.display_name:
        recent = await session.scalars(
            select(CustomerRow)
            .where(CustomerRow.display_name != "", *live)
            .order_by(CustomerRow.id.desc())
            .limit(NAME_SCAN)
        )
        for row in recent:
            candidates.setdefault(row.id, row)
    scored = []
    for row in candidates.values():
        value, reasons = score(customer, row)
        if value >= MIN_SCORE:
            scored.append(
                {
                    "customer_id": row.id,
                    "display_name": row.display_name,
                    "score": round(value, 1),
                    "reasons": reasons,
                }
            )
    scored.sort(key=lambda item: -item["score"])
    return scored[:limit]
