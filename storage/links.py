"""Link codes (deep links, phone verification), phone owners and the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import AuditRow, CustomerRow, IdentityRow, LinkCodeRow

# No 0/O, 1/I/L: codes are read and typed by people.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "OG"
MAX_OTP_ATTEMPTS = 5


def new_link_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def new_otp() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def create_code(
    session: AsyncSession,
    *,
    purpose: str,
    customer_id: int,
    channel: str,
    ttl: float,
    now: datetime,
    target: str = "",
) -> LinkCodeRow:
    code = new_otp() + ":" + secrets.token_hex(4) if purpose == "otp" else new_link_code()
    row = LinkCodeRow(
        code=code,
        purpose=purpose,
        customer_id=customer_id,
        channel=channel,
        target=target,
        attempts=0,
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def consume_link_code(
    session: AsyncSession, code: str, channel: str, now: datetime
) -> LinkCodeRow | None:
    """Use a deep-link code once, on the channel it was made for, before it expires."""
    result = await session.execute(
        update(LinkCodeRow)
        .where(
            LinkCodeRow.code == code,
            LinkCodeRow.purpose == "deeplink",
            LinkCodeRow.channel == channel,
            LinkCodeRow.used_at.is_(None),
            LinkCodeRow.expires_at > now,
        )
        .values(used_at=now)
        .returning(LinkCodeRow.code)
    )
    if result.scalar() is None:
        return None
    return await session.get(LinkCodeRow, code)


async def check_otp(
    session: AsyncSession, customer_id: int, otp: str, now: datetime
) -> LinkCodeRow | None:
    """The pending verification this one-time password confirms, if any (attempts limited)."""
    rows = list(
        await session.scalars(
            select(LinkCodeRow)
            .where(
                LinkCodeRow.customer_id == customer_id,
                LinkCodeRow.purpose == "otp",
                LinkCodeRow.used_at.is_(None),
                LinkCodeRow.expires_at > now,
            )
            .order_by(LinkCodeRow.created_at.desc())
            .with_for_update()
        )
    )
    for row in rows:
        if row.attempts >= MAX_OTP_ATTEMPTS:
            continue
        if secrets.compare_digest(row.code.split(":", 1)[0], otp):
            row.used_at = now
            return row
        row.attempts += 1
    return None


# Built once: every first contact on SMS or WhatsApp asks (constructing them cost more than
# running them).
_PHONE_IDENTITY_OWNER = (
    select(IdentityRow.customer_id)
    .where(
        IdentityRow.channel.in_(("sms", "whatsapp")), IdentityRow.external_id == bindparam("phone")
    )
    .order_by(IdentityRow.id)
    .limit(1)
)
_VERIFIED_PHONE_OWNER = (
    select(CustomerRow.id)
    .where(
        CustomerRow.phone == bindparam("phone"),
        CustomerRow.phone_verified.is_(True),
        CustomerRow.merged_into.is_(None),
        CustomerRow.erased_at.is_(None),
    )
    .order_by(CustomerRow.id)
    .limit(1)
)


async def phone_owner(session: AsyncSession, phone: str) -> int | None:
    """The customer who owns a phone number: by a provider-delivered identity, else by a
    verified phone on the profile."""
    owner = await session.scalar(_PHONE_IDENTITY_OWNER, {"phone": phone})
    if owner is not None:
        return int(owner)
    owner = await session.scalar(_VERIFIED_PHONE_OWNER, {"phone": phone})
    return int(owner) if owner is not None else None


async def email_owner(session: AsyncSession, email: str) -> int | None:
    owner = await session.scalar(
        select(CustomerRow.id)
        .where(
            CustomerRow.email == email,
            CustomerRow.email_verified.is_(True),
            CustomerRow.merged_into.is_(None),
            CustomerRow.erased_at.is_(None),
        )
        .order_by(CustomerRow.id)
        .limit(1)
    )
    return int(owner) if owner is not None else None


def audit(
    session: AsyncSession,
    action: str,
    customer_id: int | None,
    now: datetime,
    *,
    actor: str = "",
    **detail: Any,
) -> None:
    session.add(
        AuditRow(action=action, customer_id=customer_id, actor=actor, detail=detail, created_at=now)
    )
