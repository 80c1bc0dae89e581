"""A sender the batch did not know, whose identity another transaction made meanwhile: the
full path meets that identity (no second customer, no link recorded), on both backends."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.identity import IdentityResolver
from bot.model import Address, Inbound, utcnow
from bot.settings import Settings
from storage import customers
from storage.tables import AuditRow, CustomerRow

PHONE = "+905552400001"


def sms(sid: str) -> Inbound:
    return Inbound(
        provider_id=sid,
        address=Address("sms", "twilio", "+15005550006", PHONE),
        text="merhaba",
        external_id=PHONE,
    )


async def test_an_identity_made_since_the_batch_looked(sessions, database_url: str) -> None:
    resolver = IdentityResolver(Settings(database_url=database_url))
    async with sessions() as s, s.begin():  # another worker's batch, committed
        other = await customers.resolve_identity(
            s, "sms", PHONE, now=utcnow(), verified=True, address=sms("x").address.to_dict()
        )
    async with sessions() as s, s.begin():
        # This batch looked before that commit: the sender is unknown to it.
        found = await resolver.resolve_sender(s, sms("SM2"), utcnow(), unknown=True)
    assert (found.id, found.customer_id) == (other.id, other.customer_id)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(CustomerRow)) == 1
        linked = await s.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.action == "identity_linked")
        )
        assert linked == 0
        stored = await customers.find_identity(s, "sms", PHONE)
        assert stored is not None and stored.last_inbound_at is not None
