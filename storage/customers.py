"""Customers and their identities (channel + external id -> one customer)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.dialect import insert_ignoring_conflicts_on, is_postgres, padded
from storage.tables import CustomerRow, IdentityRow

_IDENTITIES = IdentityRow.__table__
_TOUCH_IDENTITY = (
    update(_IDENTITIES)
    .where(_IDENTITIES.c.id == bindparam("iid"))
    .values(last_inbound_at=bindparam("now"))
    .returning(_IDENTITIES.c.customer_id)
)
# A first contact's two inserts, built once (constructing them cost more than running them).
_CUSTOMERS = CustomerRow.__table__
_NEW_CUSTOMER = (
    insert(_CUSTOMERS)
    .values(
        display_name=bindparam("name"),
        email="",
        phone=bindparam("phone"),
        phone_verified=bindparam("phone_verified"),
        email_verified=False,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_CUSTOMERS.c.id)
)
_DROP_CUSTOMER = delete(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("customer_id"))
_FIRST_IDENTITY = {
    postgres: insert_ignoring_conflicts_on(postgres, IdentityRow)
    .values(
        customer_id=bindparam("customer_id"),
        channel=bindparam("channel"),
        external_id=bindparam("external_id"),
        verified=bindparam("verified"),
        link_reason="first_contact",
        address=bindparam("address"),
        display_name=bindparam("name"),
        unreachable=False,
        opt_source="",
        last_inbound_at=bindparam("now"),
        created_at=bindparam("now"),
    )
    .returning(IdentityRow)
    for postgres in (False, True)
}
_FIND_IDENTITY = select(IdentityRow).where(
    IdentityRow.channel == bindparam("channel"), IdentityRow.external_id == bindparam("external_id")
)


@dataclass(slots=True)
class KnownIdentity:
    """An identity as batched ingest reads it: plain data, no ORM object to load and track."""

    id: int
    customer_id: int
    channel: str
    external_id: str
    display_name: str
    address: dict[str, Any] | None
    last_inbound_at: datetime | None


_FIND_IDENTITIES = select(*(_IDENTITIES.c[f.name] for f in fields(KnownIdentity))).where(
    _IDENTITIES.c.channel == bindparam("channel"),
    _IDENTITIES.c.external_id.in_(bindparam("external_ids", expanding=True)),
)


def _touch_identities(postgres: bool) -> Any:
    """One UPDATE for many identities. On PostgreSQL the subquery takes the row locks in
    sender key order, the order ingest resolves senders in: batches touching the same
    identities wait for each other instead of deadlocking. Collation "C" compares as Python
    compares str (by code point). SQLite has one writer and no row locks."""
    ids = select(_IDENTITIES.c.id).where(_IDENTITIES.c.id.in_(bindparam("ids", expanding=True)))
    if postgres:
        ids = ids.order_by(
            _IDENTITIES.c.channel.collate("C"), _IDENTITIES.c.external_id.collate("C")
        ).with_for_update()
    return (
        update(_IDENTITIES)
        .where(_IDENTITIES.c.id.in_(ids))
        .values(last_inbound_at=bindparam("now"))
        .returning(_IDENTITIES.c.id, _IDENTITIES.c.customer_id)
    )


_TOUCH_IDENTITIES = {postgres: _touch_identities(postgres) for postgres in (False, True)}


async def find_identity(
    session: AsyncSession, channel: str, external_id: str
) -> IdentityRow | None:
    return await session.scalar(_FIND_IDENTITY, {"channel": channel, "external_id": external_id})


async def find_identities(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], KnownIdentity]:
    """The identities of many (channel, external id) keys: one SELECT per channel."""
    by_channel: dict[str, set[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, set()).add(external_id)
    found: dict[tuple[str, str], KnownIdentity] = {}
    for channel, external_ids in sorted(by_channel.items()):
        rows = await session.execute(
            _FIND_IDENTITIES, {"channel": channel, "external_ids": padded(sorted(external_ids))}
        )
        for row in rows:
            identity = KnownIdentity(*row)
            found[identity.channel, identity.external_id] = identity
    return found


async def touch_identities(
    session: AsyncSession, identities: Iterable[KnownIdentity], now: datetime
) -> None:
    """Record that these identities wrote at `now`, in one UPDATE for all of them.

    Like resolve_identity, each identity takes the customer the UPDATE returns: a merge
    committed since it was read has moved it, and the message belongs to the survivor.
    """
    rows = {identity.id: identity for identity in identities}
    if not rows:
        return
    result = await session.execute(
        _TOUCH_IDENTITIES[is_postgres(session)], {"ids": padded(sorted(rows)), "now": now}
    )
    current: dict[int, int] = {iid: customer_id for iid, customer_id in result}
    for iid, identity in rows.items():
        if iid not in current:  # erased since it was read: fail, the batch is retried
            raise LookupError(f"identity {iid} disappeared during ingest")
        identity.last_inbound_at = now
        identity.customer_id = current[iid]


async def first_contact(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    now: datetime,
    address: dict[str, Any] | None = None,
    display_name: str = "",
    verified: bool = False,
) -> IdentityRow | None:
    """A new customer with this identity, written as it is now (its time, address and name;
    a phone number the provider vouches for is the customer's verified phone). None when
    another transaction made the identity first: the caller reads and touches that one."""
    phone = external_id if channel in ("sms", "whatsapp") and external_id.startswith("+") else ""
    customer_id = await session.scalar(
        _NEW_CUSTOMER,
        {
            "name": display_name,
            "phone": phone,
            "phone_verified": verified and bool(phone),
            "now": now,
        },
    )
    identity = await session.scalar(
        _FIRST_IDENTITY[is_postgres(session)],
        {
            "customer_id": customer_id,
            "channel": channel,
            "external_id": external_id,
            "verified": verified,
            "address": address,
            "name": display_name,
            "now": now,
        },
    )
    if identity is None:  # lost the race: drop our empty customer
        await session.execute(_DROP_CUSTOMER, {"customer_id": customer_id})
    return identity


async def resolve_identity(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    now: datetime,
    address: dict[str, Any] | None = None,
    display_name: str = "",
    verified: bool = False,
    known: IdentityRow | None = None,
) -> IdentityRow:
    """The identity's row, creating a new customer for a first contact.

    Safe under concurrency: two workers seeing the same new sender at once end with one
    identity (the unique constraint decides, the loser reads the winner's row).
    """
    identity = known or await find_identity(session, channel, external_id)
    if identity is None:
        created = await first_contact(
            session,
            channel,
            external_id,
            now=now,
            address=address,
            display_name=display_name,
            verified=verified,
        )
        if created is not None:
            return created
        identity = await find_identity(session, channel, external_id)
        assert identity is not None
    changes: dict[str, Any] = {"last_inbound_at": now}
    if address and address != identity.address:
        changes["address"] = address
    if display_name and display_name != identity.display_name:
        changes["display_name"] = display_name
    # One UPDATE with only what changed; the usual case (nothing but the time) is prebuilt.
    if len(changes) == 1:
        result = await session.execute(_TOUCH_IDENTITY, {"iid": identity.id, "now": now})
    else:
        result = await session.execute(
            update(_IDENTITIES)
            .where(_IDENTITIES.c.id == identity.id)
            .values(**changes)
            .returning(_IDENTITIES.c.customer_id)
        )
    # The UPDATE waited for any other writer of this row: its customer is the current one,
    # even if another transaction's merge moved the identity since it was read.
    changes["customer_id"] = result.scalar_one()
    for key, value in changes.items():  # the loaded row in step, without a second UPDATE
        set_committed_value(identity, key, value)
    return identity


async def get_customer(session: AsyncSession, customer_id: int) -> CustomerRow | None:
    return await session.get(CustomerRow, customer_id)


async def identities_of(session: AsyncSession, customer_id: int) -> list[IdentityRow]:
    rows = await session.scalars(
        select(IdentityRow).where(IdentityRow.customer_id == customer_id).order_by(IdentityRow.id)
    )
    return list(rows)
