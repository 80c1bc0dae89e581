"""The storage contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import DELIVERY_RANK, utcnow
from storage import conversations, customers, messages, outbox, turn_state
from storage.tables import OutboxRow
from tests.storage.rows import inbound_row, lease_due, queued_reply


async def _customer_and_thread(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as s, s.begin():
        identity = await customers.resolve_identity(s, "sms", "+905551112233", now=utcnow())
        conversation = await conversations.open_conversation(s, identity.customer_id, utcnow())
        return identity.customer_id, conversation.id


async def test_identity_resolves_to_one_customer_even_when_racing(sessions) -> None:
    async def resolve() -> int:
        async with sessions() as s, s.begin():
            identity = await customers.resolve_identity(s, "telegram", "42", now=utcnow())
            return identity.customer_id

    ids = await asyncio.gather(*(resolve() for _ in range(5)), return_exceptions=True)
    customer_ids = {i for i in ids if isinstance(i, int)}
    assert len(customer_ids) == 1
    async with sessions() as s:
        assert len(await customers.identities_of(s, customer_ids.pop())) == 1


async def test_phone_identity_fills_customer_phone(sessions) -> None:
    customer_id, _ = await _customer_and_thread(sessions)
    async with sessions() as s:
        customer = await customers.get_customer(s, customer_id)
    assert customer is not None and customer.phone == "+905551112233"


async def test_one_open_conversation_per_customer(sessions) -> None:
    customer_id, conversation_id = await _customer_and_thread(sessions)
    async with sessions() as s, s.begin():
        again = await conversations.open_conversation(s, customer_id, utcnow())
        assert again.id == conversation_id
        again.state = "closed"
    async with sessions() as s, s.begin():
        fresh = await conversations.open_conversation(s, customer_id, utcnow())
        assert fresh.id != conversation_id and fresh.state == "bot"


async def test_inbound_dedupes_on_channel_and_provider_id(sessions) -> None:
    customer_id, conversation_id = await _customer_and_thread(sessions)
    async with sessions() as s, s.begin():
        first, dup1 = await messages.insert_inbound(
            s, inbound_row(conversation_id, customer_id, "SM1")
        )
        second, dup2 = await messages.insert_inbound(
            s, inbound_row(conversation_id, customer_id, "SM1")
        )
        other, dup3 = await messages.insert_inbound(
            s, inbound_row(conversation_id, customer_id, "SM2")
        )
    assert (dup1, dup2, dup3) == (False, True, False)
    assert first == second != other


async def test_pending_turns_are_ordered_and_finished_once(sessions) -> None:
    customer_id, conversation_id = await _customer_and_thread(sessions)
    async with sessions() as s, s.begin():
        for i in range(3):
            await messages.insert_inbound(
                s, inbound_row(conversation_id, customer_id, f"P{i}", text=f"m{i}")
            )
    async with sessions() as s:
        assert await messages.pending_conversations(s) == [conversation_id]
        turn = await turn_state.next_turn(s, conversation_id)
    head = turn.message if turn else None
    assert head is not None and head.text == "m0"
    async with sessions() as s, s.begin():
        assert await turn_state.finish_turn(s, head.id, "done") is True
        assert await turn_state.finish_turn(s, head.id, "done") is False
    async with sessions() as s:
        turn = await turn_state.next_turn(s, conversation_id)
    nxt = turn.message if turn else None
    assert nxt is not None and nxt.text == "m1"


async def test_delivery_status_never_goes_back(sessions) -> None:
    customer_id, conversation_id = await _customer_and_thread(sessions)
    async with sessions() as s, s.begin():
        row = await messages.insert_outbound(
            s,
            {
                "conversation_id": conversation_id,
                "customer_id": customer_id,
                "direction": "out",
                "channel": "sms",
                "sender": "bot",
                "text": "hello",
                "provider_message_id": "SMout",
                "delivery_status": "sent",
                "created_at": utcnow(),
            },
        )

    async def apply(status: str, code: str = "") -> int | None:
        async with sessions() as s, s.begin():
            return await messages.apply_status(
                s, "sms", "SMout", status, DELIVERY_RANK, error_code=code, now=utcnow()
            )

    assert await apply("read") == row.id
    assert await apply("delivered") is None  # late callback
    assert await apply("sent") is None
    assert await apply("unknown-status") is None
    assert await apply("failed", "30008") == row.id
    async with sessions() as s:
        stored = await s.get(messages.MessageRow, row.id)
    assert (
        stored is not None and stored.delivery_status == "failed" and stored.error_code == "30008"
    )


async def test_outbox_leases_heads_of_queues_once(sessions) -> None:
    customer_id, conversation_id = await _customer_and_thread(sessions)
    now = utcnow()
    async with sessions() as s, s.begin():
        ids = [await queued_reply(s, conversation_id, customer_id, f"r{i}", now) for i in range(3)]

    async def lease(owner: str) -> list[int]:
        async with sessions() as s, s.begin():
            return [r.id for r in await lease_due(s, owner, 30)]

    first, second = await asyncio.gather(lease("a"), lease("b"))
    # Only the head of the conversation's queue, and only one sender gets it.
    assert sorted(first + second) == [ids[0]]
    async with sessions() as s, s.begin():
        await outbox.finish(s, ids[0], "sent")
    assert await lease("a") == [ids[1]]
    # A retry in the future blocks the queue behind it (order per conversation).
    async with sessions() as s, s.begin():
        await outbox.retry_later(s, ids[1], utcnow() + timedelta(seconds=60), "429")
    assert await lease("b") == []
    # An expired lease (dead sender) makes the row due again.
    async with sessions() as s, s.begin():
        await outbox.retry_later(s, ids[1], utcnow() - timedelta(seconds=1), "429")
    async with sessions() as s, s.begin():
        taken = await lease_due(s, "c", -1)  # lease already expired
    assert [r.id for r in taken] == [ids[1]]
    assert await lease("d") == [ids[1]]
    async with sessions() as s:
        count, age = await outbox.depth(s, utcnow())
    assert count == 2 and age >= 0


async def test_lease_heads_takes_the_oldest_and_reports_the_rest(sessions) -> None:
    """A sender's round leases the oldest due heads it has room for; the other heads it read
    come back unleased (the sender remembers their conversations for its next rounds)."""
    now = utcnow()
    heads: list[int] = []  # each conversation's first outbox row, oldest conversation first
    async with sessions() as s, s.begin():
        for phone in ("+905551110001", "+905551110002", "+905551110003", "+905551110004"):
            identity = await customers.resolve_identity(s, "sms", phone, now=now)
            thread = await conversations.open_conversation(s, identity.customer_id, now)
            for n in range(2):
                row_id = await queued_reply(
                    s, thread.id, identity.customer_id, f"r{n}", now, {"chat_id": phone}
                )
                if n == 0:
                    heads.append(row_id)

    async def round_(owner: str, take: int, read: int, of: list[int] | None = None):
        async with sessions() as s, s.begin():
            return await outbox.lease_heads(
                s, utcnow(), owner, 30, take=take, read=read, conversations=of
            )

    read, leased = await round_("a", take=2, read=3)
    assert [h.id for h in read] == heads[:3]
    assert [r.id for r in leased] == heads[:2] and {r.status for r in leased} == {"pending"}
    async with sessions() as s:
        owners = {row.id: row.lease_owner for row in await s.scalars(select(OutboxRow))}
    assert [owners[h] for h in heads] == ["a", "a", None, None]
    # A round for named conversations: the leased heads are not due again.
    conversation_of = {h.id: h.conversation_id for h in read}
    read, leased = await round_("b", take=5, read=5, of=list(conversation_of.values()))
    assert [h.id for h in read] == [heads[2]] and [r.id for r in leased] == [heads[2]]
    assert await round_("c", take=1, read=1, of=[]) == ([], [])
    read, leased = await round_("c", take=0, read=5)
    assert [h.id for h in read] == [heads[3]] and leased == []


async def test_due_heads_of_named_conversations(sessions) -> None:
    """A round woken for some conversations reads their queue heads only, oldest first."""
    now = utcnow()
    queues: list[list[int]] = []  # each conversation's outbox row ids, in queue order
    conversation_of: dict[int, int] = {}  # outbox row id -> conversation id
    async with sessions() as s, s.begin():
        for phone in ("+905551110001", "+905551110002", "+905551110003"):
            identity = await customers.resolve_identity(s, "sms", phone, now=now)
            thread = await conversations.open_conversation(s, identity.customer_id, now)
            queues.append([])
            for n in range(2):
                row_id = await queued_reply(
                    s, thread.id, identity.customer_id, f"r{n}", now, {"chat_id": phone}
                )
                queues[-1].append(row_id)
                conversation_of[row_id] = thread.id
    first, second, third = queues

    async def heads(limit: int, of: list[list[int]] | None) -> list[int]:
        wanted = None if of is None else [conversation_of[ids[0]] for ids in of]
        async with sessions() as s, s.begin():
            found = await outbox.due_heads(s, utcnow(), limit, wanted)
        assert all(conversation_of[head.id] == head.conversation_id for head in found)
        return [head.id for head in found]

    assert await heads(10, None) == [first[0], second[0], third[0]]
    assert await heads(10, [third, first]) == [first[0], third[0]]
    assert await heads(1, [third, second]) == [second[0]]  # the oldest head first
    assert await heads(10, []) == []
    async with sessions() as s, s.begin():
        await outbox.finish(s, first[0], "sent")
        await outbox.retry_later(s, third[0], utcnow() + timedelta(seconds=60), "429")
    # The next row heads the first queue; the third waits behind its retry.
    assert await heads(10, [first, third]) == [first[1]]
