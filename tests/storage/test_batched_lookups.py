"""The ingest batch's lookups (one statement for many senders or customers) agree with the
one-at-a-time ones, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import utcnow
from storage import conversations, customers, messages
from storage.tables import ConversationRow, CustomerRow, IdentityRow, MessageRow
from tests.storage.rows import inbound_row


async def test_find_identities_matches_find_identity(sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        for key in (("sms", "+905551110001"), ("whatsapp", "+905551110001"), ("telegram", "77")):
            await customers.resolve_identity(s, *key, now=now)
    keys = [
        ("sms", "+905551110001"),
        ("whatsapp", "+905551110001"),
        ("telegram", "77"),
        ("telegram", "+905551110001"),  # same external id, another channel: not an identity
        ("sms", "+905559999999"),  # nobody
        ("sms", "+905551110001"),  # asked twice
    ]
    async with sessions() as s:
        found = await customers.find_identities(s, keys)
        singles = {key: await customers.find_identity(s, *key) for key in keys}
    assert set(found) == {key for key, row in singles.items() if row is not None}
    assert len(found) == 3
    for key, row in found.items():
        assert (row.channel, row.external_id) == key and row.id == singles[key].id


async def test_first_contact_writes_the_sender_whole_once(sessions) -> None:
    """A first contact is one customer and one identity, written with the message's time,
    address and name (nothing left to touch); a second batch making it too gets None."""
    now = utcnow()
    address = {"channel": "whatsapp", "provider": "twilio", "account": "+1", "chat_id": "+90"}
    async with sessions() as s, s.begin():
        made = await customers.first_contact(
            s,
            "whatsapp",
            "+905551110001",
            now=now,
            address=address,
            display_name="Ayşe",
            verified=True,
        )
        assert made is not None
        again = await customers.first_contact(s, "whatsapp", "+905551110001", now=now)
        assert again is None
        web = await customers.first_contact(s, "webchat", "session-1", now=now)
        assert web is not None
    async with sessions() as s:
        stored = await customers.find_identity(s, "whatsapp", "+905551110001")
        assert stored is not None and stored.id == made.id
        assert (stored.last_inbound_at, stored.address, stored.display_name) == (
            now,
            address,
            "Ayşe",
        )
        assert stored.verified and stored.link_reason == "first_contact"
        rows = {c.id: c for c in await s.scalars(select(CustomerRow))}
        assert sorted(rows) == sorted({made.customer_id, web.customer_id})  # the loser's dropped
        phone_customer, web_customer = rows[made.customer_id], rows[web.customer_id]
        assert (phone_customer.phone, phone_customer.phone_verified) == ("+905551110001", True)
        assert (web_customer.phone, web_customer.phone_verified) == ("", False)


async def test_touch_identities_reports_the_current_customer(sessions) -> None:
    then, now = utcnow() - timedelta(hours=1), utcnow()
    async with sessions() as s, s.begin():
        first = await customers.resolve_identity(s, "sms", "+905551110001", now=then)
        second = await customers.resolve_identity(s, "sms", "+905551110002", now=then)
        ids, survivor = (first.id, second.id), second.customer_id
    async with sessions() as s:  # read first (SQLite has one connection: not nested)
        keys = [("sms", "+905551110001"), ("sms", "+905551110002")]
        loaded = list((await customers.find_identities(s, keys)).values())
    # Another transaction moves the first identity to the second customer (a merge).
    async with sessions() as other, other.begin():
        await other.execute(
            update(IdentityRow).where(IdentityRow.id == ids[0]).values(customer_id=survivor)
        )
    async with sessions() as s, s.begin():
        await customers.touch_identities(s, loaded, now)
        assert {row.customer_id for row in loaded} == {survivor}
    async with sessions() as s:
        rows = (await s.scalars(select(IdentityRow).where(IdentityRow.id.in_(ids)))).all()
        assert [abs((r.last_inbound_at - now).total_seconds()) < 1 for r in rows] == [True] * 2
        assert {r.customer_id for r in rows} == {survivor}


async def test_touch_identities_fails_for_a_vanished_identity(sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        gone = await customers.resolve_identity(s, "sms", "+905551110001", now=now)
        gone_id = gone.id
    async with sessions() as s:
        row = (await customers.find_identities(s, [("sms", "+905551110001")]))[
            "sms", "+905551110001"
        ]
    async with sessions() as other, other.begin():
        await other.execute(delete(IdentityRow).where(IdentityRow.id == gone_id))
    async with sessions() as s:
        with pytest.raises(LookupError):
            await customers.touch_identities(s, [row], now)


async def test_open_threads_find_start_and_touch(sessions: async_sessionmaker[AsyncSession]):
    now = utcnow()
    async with sessions() as s, s.begin():
        have = await customers.resolve_identity(s, "sms", "+905551110001", now=now)
        new = await customers.resolve_identity(s, "sms", "+905551110002", now=now)
        existing = await conversations.open_conversation(s, have.customer_id, now)
        existing_id = existing.id
        cids = sorted({have.customer_id, new.customer_id})
    async with sessions() as s, s.begin():
        threads = await conversations.open_threads(s, cids, now)
        assert threads[have.customer_id].id == existing_id
        assert threads[new.customer_id].customer_id == new.customer_id
        assert await conversations.open_threads(s, [], now) == {}
        later = now + timedelta(seconds=5)
        threads[new.customer_id].touch_inbound("sms", now)
        threads[new.customer_id].touch_inbound("whatsapp", later)
        await conversations.write_touched(s, threads.values())
    async with sessions() as s:
        rows = (await s.scalars(select(ConversationRow).order_by(ConversationRow.id))).all()
        assert sorted(r.customer_id for r in rows) == cids and {r.state for r in rows} == {"bot"}
        by_customer = {r.customer_id: r for r in rows}
        untouched, touched = by_customer[have.customer_id], by_customer[new.customer_id]
        assert untouched.last_inbound == {} and untouched.updated_at == now
        # Both channels' times kept, the latest channel remembered.
        assert touched.last_inbound == {"sms": now.isoformat(), "whatsapp": later.isoformat()}
        assert touched.last_channel == "whatsapp" and touched.updated_at == later
    # Read back from the database, a thread keeps the other channels' times when touched.
    latest = later + timedelta(seconds=5)
    async with sessions() as s, s.begin():
        again = (await conversations.open_threads(s, [new.customer_id], latest))[new.customer_id]
        again.touch_inbound("sms", latest)
        await conversations.write_touched(s, [again])
    async with sessions() as s:
        stored = await s.get(ConversationRow, again.id)
        assert stored is not None and stored.last_channel == "sms"
        assert stored.last_inbound == {"sms": latest.isoformat(), "whatsapp": later.isoformat()}
    # Two workers read the thread before either writes (each its own channel): the second
    # write merges into the first's instead of writing back the value it read.
    async with sessions() as s:
        first = (await conversations.open_threads(s, [new.customer_id], latest))[new.customer_id]
    async with sessions() as s:
        second = (await conversations.open_threads(s, [new.customer_id], latest))[new.customer_id]
    first_at, second_at = latest + timedelta(seconds=1), latest + timedelta(seconds=2)
    for thread, channel, at in ((first, "telegram", first_at), (second, "webchat", second_at)):
        async with sessions() as s, s.begin():
            thread.touch_inbound(channel, at)
            await conversations.write_touched(s, [thread])
    async with sessions() as s:
        stored = await s.get(ConversationRow, again.id)
        assert stored is not None and stored.last_channel == "webchat"
        assert stored.last_inbound == {
            "sms": latest.isoformat(),
            "whatsapp": later.isoformat(),
            "telegram": first_at.isoformat(),
            "webchat": second_at.isoformat(),
        }
    # A thread whose stored value is not an object (a JSON null) starts from empty.
    async with sessions() as s, s.begin():
        await s.execute(
            update(ConversationRow).where(ConversationRow.id == again.id).values(last_inbound=None)
        )
    async with sessions() as s, s.begin():
        thread = (await conversations.open_threads(s, [new.customer_id], latest))[new.customer_id]
        thread.touch_inbound("sms", second_at)
        await conversations.write_touched(s, [thread])
    async with sessions() as s:
        stored = await s.get(ConversationRow, again.id)
        assert stored is not None and stored.last_inbound == {"sms": second_at.isoformat()}


async def test_insert_inbound_many_keeps_order_and_stores_each_message_once(sessions) -> None:
    now = utcnow()
    async with sessions() as s, s.begin():
        identity = await customers.resolve_identity(s, "sms", "+905551110001", now=now)
        thread = await conversations.open_conversation(s, identity.customer_id, now)

        def row(pmid: str, channel: str = "sms") -> dict:
            return inbound_row(
                thread.id, identity.customer_id, pmid, channel=channel, text=pmid, created_at=now
            )

        earlier, _ = await messages.insert_inbound(s, row("SM1"))
        stored = await messages.insert_inbound_many(
            s,
            [row("SM2"), row("SM1"), row("SM3"), row("SM2"), row("SM1", "whatsapp"), row("SM4")],
        )
        assert await messages.insert_inbound_many(s, []) == []
    ids = [message_id for message_id, _ in stored]
    assert [duplicate for _, duplicate in stored] == [False, True, False, True, False, False]
    assert ids[1] == earlier and ids[3] == ids[0]  # duplicates point at the stored row
    new = [ids[0], ids[2], ids[4], ids[5]]
    assert new == sorted(new) and len(set(new)) == 4 and earlier < ids[0]  # arrival order
    async with sessions() as s:
        texts = (await s.scalars(select(MessageRow.text).order_by(MessageRow.id))).all()
    assert texts == ["SM1", "SM2", "SM3", "SM1", "SM4"]
