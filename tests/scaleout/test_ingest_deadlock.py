"""Concurrent ingest transactions lock rows in one order: no deadlock, nothing lost or reordered.

Every worker process runs its group-commit writers (OMNIGATE_DB_WRITERS, one by default), so
many ingest transactions run at once on PostgreSQL, each touching the identity and
conversation rows of many customers. Here three gateways on engines of their own (three
worker processes, four writers each) ingest messages of one set of customers at the same
moment, each in its own shuffled order, with requests carrying several customers' messages
and a customer's WhatsApp and SMS messages (one conversation) together. Taking the rows in
arrival order, such batches deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.events import EventBus
from bot.gateway import Gateway, IngestResult
from bot.identity import IdentityResolver
from bot.metrics import Metrics
from bot.model import Address, Event, Inbound, StatusUpdate
from bot.settings import Settings
from storage.coordination import create_coordination
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import CustomerRow, MessageRow

GATEWAYS = 3
WRITERS = 4  # OMNIGATE_DB_WRITERS=4: many transactions at once in each process
ROUNDS = 5
PHONES = [f"+90555200{i:04d}" for i in range(24)]
TWILIO_NUMBER = "+15005550006"


def message(channel: str, phone: str, sid: str) -> Inbound:
    account = TWILIO_NUMBER if channel == "sms" else f"whatsapp:{TWILIO_NUMBER}"
    return Inbound(
        provider_id=sid,
        address=Address(channel, "twilio", account, phone),
        text=f"sipariş {sid}",
        external_id=phone,
    )


def early_status(sid: str, status: str) -> StatusUpdate:
    """A status for a send whose answer has not been recorded: parked under its id."""
    return StatusUpdate(provider="twilio", channel="sms", provider_message_id=sid, status=status)


def plan_round(rng: random.Random, gateway: int, round_: int, sms_only: bool) -> list[list[Event]]:
    """One request per customer, in a shuffled order: alone, with other customers' messages,
    with a WhatsApp message of the same customer first (a later one on the same thread), or
    with delivery statuses."""
    requests: list[list[Event]] = []
    phones = PHONES[:]
    rng.shuffle(phones)
    for n, phone in enumerate(phones):
        sid = f"SM{gateway}r{round_}n{n}"
        shape = 0 if sms_only else rng.randrange(4)
        if shape == 0:
            requests.append([message("sms", phone, sid)])
        elif shape == 1:
            others = rng.sample(PHONES, 3)
            requests.append([message("sms", p, f"{sid}m{i}") for i, p in enumerate(others)])
        elif shape == 2:
            requests.append([message("whatsapp", phone, f"{sid}wa"), message("sms", phone, sid)])
        else:
            statuses = [
                early_status(f"SMout{i}", rng.choice(["sent", "delivered"]))
                for i in rng.sample(range(8), 3)
            ]
            requests.append([*statuses, message("sms", phone, sid)])
    return requests


async def test_concurrent_ingest_batches_do_not_deadlock(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omnigate")
    engines = [create_engine(pg_url) for _ in range(GATEWAYS)]
    await migrate(engines[0])
    settings = Settings(database_url=pg_url)
    gateways = [
        Gateway(
            session_factory(engine),
            EventBus(create_coordination("")),
            Metrics(),
            lambda _conversation_id: None,  # no turns here: ingest alone
            lambda: None,
            IdentityResolver(settings),
        )
        for engine in engines
    ]
    for gateway in gateways:
        gateway.start(writers=WRITERS)
    rng = random.Random(20240611)
    sent: list[list[Event]] = []
    outcomes: list[list[IngestResult] | BaseException] = []
    try:
        for round_ in range(ROUNDS):
            # The first round is every customer's first contact by SMS (their phone is their
            # customer); WhatsApp messages of the same phones join those customers later.
            plans = [plan_round(rng, g, round_, sms_only=round_ == 0) for g in range(GATEWAYS)]
            calls = [
                (gateway, request)
                for gateway, plan in zip(gateways, plans, strict=True)
                for request in plan
            ]
            order = list(range(len(calls)))
            rng.shuffle(order)  # the gateways' requests interleave
            results = await asyncio.gather(
                *(calls[i][0].ingest(calls[i][1]) for i in order), return_exceptions=True
            )
            by_call = dict(zip(order, results, strict=True))
            sent.extend(request for _, request in calls)
            outcomes.extend(by_call[i] for i in range(len(calls)))
        for gateway in gateways:
            await gateway.stop()
        async with session_factory(engines[0])() as session:
            stored = Counter((await session.scalars(select(MessageRow.provider_message_id))).all())
            customers = await session.scalar(select(func.count()).select_from(CustomerRow))
            threads = dict(
                (await session.execute(select(MessageRow.id, MessageRow.conversation_id))).all()
            )
    finally:
        for engine in engines:
            await engine.dispose()

    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert not failures, f"{len(failures)} ingests failed, first: {failures[0]!r}"
    conflicts = [
        r.getMessage()
        for r in caplog.records
        if r.name == "omnigate.group_commit" and r.levelno >= logging.WARNING
    ]
    assert not conflicts, f"{len(conflicts)} group commits failed, first: {conflicts[0]}"
    inbound = [e for request in sent for e in request if isinstance(e, Inbound)]
    assert stored == Counter(e.provider_id for e in inbound)  # each one exactly once
    assert customers == len(PHONES)
    assert len(set(threads.values())) == len(PHONES)  # one thread each, across channels
    for request, outcome in zip(sent, outcomes, strict=True):
        assert not isinstance(outcome, BaseException)
        ids = [
            r.message_id for e, r in zip(request, outcome, strict=True) if isinstance(e, Inbound)
        ]
        assert [e.id for e in request if isinstance(e, Inbound)] == ids
        phones = {e.address.chat_id for e in request if isinstance(e, Inbound)}
        if len(phones) == 1 and len(ids) == 2:
            # One customer's WhatsApp then SMS message: one thread, in the order they came.
            assert ids[0] is not None and ids[1] is not None
            assert threads[ids[0]] == threads[ids[1]]
            assert ids[0] < ids[1]
