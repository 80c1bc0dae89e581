"""Batched turn reads and writes (storage/turn_state.py) agree with one-at-a-time ones,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.model import utcnow
from storage import conversations, customers, messages, turn_state
from storage.tables import ConversationRow, MessageRow, OutboxRow
from tests.storage.rows import inbound_row


def _message(conversation_id: int, customer_id: int, n: int, **extra: object) -> dict:
    provider_id = f"SM{conversation_id}-{n}"
    return inbound_row(conversation_id, customer_id, provider_id, text=f"m{n}", **extra)


async def _customer(sessions: async_sessionmaker[AsyncSession], phone: str, count: int) -> int:
    """A customer whose thread has `count` messages: the first three pending, a note at 4."""
    async with sessions() as s, s.begin():
        identity = await customers.resolve_identity(s, "sms", phone, now=utcnow())
        thread = await conversations.open_conversation(s, identity.customer_id, utcnow())
        for n in range(count):
            extra: dict[str, object] = {} if n < 3 else {"turn_status": "done"}
            if n == 4:
                extra["note"] = True
            await messages.insert_inbound(s, _message(thread.id, identity.customer_id, n, **extra))
        return thread.id


async def test_batched_reads_match_single_reads(sessions) -> None:
    busy = await _customer(sessions, "+905551110001", 30)
    short = await _customer(sessions, "+905551110002", 2)
    idle = await _customer(sessions, "+905551110003", 0)  # nothing pending
    async with sessions() as s:
        batch = await turn_state.next_turns(s, [busy, short, idle])
        singles = {cid: await turn_state.next_turn(s, cid) for cid in (busy, short, idle)}
    assert set(batch) == {busy, short} and singles[idle] is None
    for cid in (busy, short):
        got, want = batch[cid], singles[cid]
        assert want is not None
        assert got.message.id == want.message.id and got.message.text == "m0"
        assert tuple(got.conversation) == tuple(want.conversation)
        assert tuple(got.customer) == tuple(want.customer)
        assert [i.id for i in got.identities] == [i.id for i in want.identities]


async def test_latest_messages_are_the_last_ones_oldest_first_without_notes(sessions) -> None:
    # 30 messages: longer than the window (the note at 4 falls outside it anyway); 6: shorter.
    busy = await _customer(sessions, "+905551110008", 30)
    short = await _customer(sessions, "+905551110009", 6)
    async with sessions() as s:
        customer_of = {
            cid: (await s.get(ConversationRow, cid)).customer_id  # type: ignore[union-attr]
            for cid in (busy, short)
        }
        latest = await turn_state.latest_messages(s, customer_of[busy], 20)
        few = await turn_state.latest_messages(s, customer_of[short], 20)
    assert [m.text for m in latest] == [f"m{n}" for n in range(10, 30)]
    assert [m.text for m in few] == ["m0", "m1", "m2", "m3", "m5"]


async def test_batched_writes_finish_each_turn_once(sessions) -> None:
    first = await _customer(sessions, "+905551110004", 1)
    second = await _customer(sessions, "+905551110005", 1)
    async with sessions() as s:
        turns = await turn_state.next_turns(s, [first, second])
    now = utcnow()

    def write(cid: int, replies: int) -> turn_state.TurnWrite:
        row = turns[cid].message
        reply = _message(cid, row.customer_id, 99, direction="out", sender="bot")
        reply.update(turn_status=None, provider_message_id=None, delivery_status="pending")
        address = {"channel": "sms", "provider": "twilio", "account": "+1", "chat_id": "+90"}
        texts = [f"{'r' if cid == first else 's'}{i}" for i in range(replies)]
        rows = [({**reply, "text": t}, address, {"text": t}) for t in texts]
        return turn_state.TurnWrite(row.id, cid, "done", rows, {"step": cid}, now)

    async with sessions() as s, s.begin():
        results = await turn_state.write_turns(s, [write(first, 2), write(second, 1)])
    assert [len(r or []) for r in results] == [2, 1]
    async with sessions() as s, s.begin():  # the same turns again: already answered
        assert await turn_state.write_turns(s, [write(first, 2)]) == [None]
    async with sessions() as s:
        outbox = (await s.execute(select(OutboxRow.message_id, OutboxRow.body))).all()
        dialogs = dict((await s.execute(select(ConversationRow.id, ConversationRow.dialog))).all())
    reply_ids = [i for r in results for i in (r or [])]
    assert sorted(m for m, _ in outbox) == sorted(reply_ids)
    assert sorted(b["text"] for _, b in outbox) == ["r0", "r1", "s0"]
    # Each id is its own reply's: the message and its outbox row say the same thing.
    async with sessions() as s:
        texts = dict((await s.execute(select(MessageRow.id, MessageRow.text))).all())
    assert [[texts[i] for i in r or []] for r in results] == [["r0", "r1"], ["s0"]]
    assert all(texts[m] == b["text"] for m, b in outbox)
    assert dialogs[first] == {"step": first} and dialogs[second] == {"step": second}
    async with sessions() as s:
        assert await turn_state.next_turns(s, [first, second]) == {}


async def test_two_turns_for_one_message_in_one_batch_answer_it_once(sessions) -> None:
    # A merge can move a pending message into a conversation whose turn is running.
    thread = await _customer(sessions, "+905551110006", 1)
    async with sessions() as s:
        turn = (await turn_state.next_turns(s, [thread]))[thread]
    row, now = turn.message, utcnow()
    reply = _message(thread, row.customer_id, 98, direction="out", sender="bot")
    reply.update(turn_status=None, provider_message_id=None, delivery_status="pending")
    address = {"channel": "sms", "provider": "twilio", "account": "+1", "chat_id": "+90"}

    def write(text: str) -> turn_state.TurnWrite:
        replies = [({**reply, "text": text}, address, {"text": text})]
        return turn_state.TurnWrite(row.id, thread, "done", replies, {}, now)

    async with sessions() as s, s.begin():
        results = await turn_state.write_turns(s, [write("first"), write("second")])
    assert results[1] is None and len(results[0] or []) == 1
    async with sessions() as s:
        bodies = (await s.execute(select(OutboxRow.body))).scalars().all()
    assert [b["text"] for b in bodies] == ["first"]
