"""Customers texting the gateway over signed Twilio SMS webhooks, and the exactly-once checks.

Each customer sends its messages one after the other (the next once the previous one was
acknowledged), many customers at once. Like Twilio, the client sends a webhook again on a
connection error or a 5xx, with the same MessageSid. Every message asks for an order number of
its own, and the bot's answer quotes it, so a reply is traced to its message at the provider.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.fakes import FakeTwilio, send_twilio_webhook, twilio_inbound_params
from storage.database import create_engine
from tests.processes import GatewayProcess
from tests.scaleout.cluster import SMS_FROM, TWILIO_SID, TWILIO_TOKEN

RETRY_DELAY = 0.2


@dataclass
class Answer:
    at: float  # time.monotonic() when the answer (or the connection error) came
    status: int  # HTTP status, 0 for a connection error or timeout


@dataclass
class Customer:
    number: str
    orders: list[str]
    params: list[dict[str, str]]
    answers: list[list[Answer]] = field(default_factory=list)

    @property
    def acked(self) -> list[bool]:
        return [bool(a) and a[-1].status == 200 for a in self.answers]


def make_customers(count: int, messages: int, series: int = 1) -> list[Customer]:
    people = []
    for c in range(count):
        number = f"+90555{series:02d}{c:05d}"
        orders = [f"{series}{c:04d}{i:02d}" for i in range(messages)]
        params = [
            twilio_inbound_params(
                from_=number, to=SMS_FROM, body=f"sipariş {order}", account_sid=TWILIO_SID
            )
            for order in orders
        ]
        people.append(Customer(number, orders, params))
    return people


async def deliver(
    http: aiohttp.ClientSession, url: str, params: dict[str, str], deadline: float
) -> list[Answer]:
    """POST until acknowledged (2xx/4xx), retrying connection errors and 5xx like Twilio."""
    answers: list[Answer] = []
    while True:
        try:
            answer = await send_twilio_webhook(url, params, TWILIO_TOKEN, session=http)
            answers.append(Answer(time.monotonic(), answer.status))
            if answer.status < 500:
                return answers
        except (aiohttp.ClientError, TimeoutError, OSError):
            answers.append(Answer(time.monotonic(), 0))
        if time.monotonic() > deadline:
            return answers
        await asyncio.sleep(RETRY_DELAY)


async def converse(
    base_url: str, people: list[Customer], *, gap: float = 0.1, timeout: float = 40.0
) -> None:
    """Every customer sends its messages in order, all customers at once."""
    url = base_url + "/webhooks/twilio"
    deadline = time.monotonic() + timeout

    async def one(http: aiohttp.ClientSession, person: Customer) -> None:
        for params in person.params:
            person.answers.append(await deliver(http, url, params, deadline))
            await asyncio.sleep(gap)

    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=10), connector=aiohttp.TCPConnector(limit=0)
    ) as http:
        await asyncio.gather(*(one(http, person) for person in people))


def replies_by_number(fake: FakeTwilio) -> dict[str, list[str]]:
    """Bodies of the messages the provider accepted, per recipient, in arrival order."""
    sent: dict[str, list[str]] = defaultdict(list)
    for call in fake.sent():
        sent[call.form.get("To", "")].append(call.form.get("Body", ""))
    return sent


async def wait_delivered(
    fake: FakeTwilio, database_url: str, total: int, timeout: float = 40.0
) -> None:
    """Until the provider accepted `total` messages and no outbox row is left to send."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outbox = await outbox_statuses(database_url)
        if len(fake.sent()) >= total and outbox.get("pending", 0) == 0:
            return
        assert loop.time() < deadline, (
            f"{len(fake.sent())} of {total} replies reached the provider; outbox {outbox}"
        )
        await asyncio.sleep(0.2)


async def _query(database_url: str, sql: str, **params: str) -> list[Any]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def outbox_statuses(database_url: str, channel: str = "") -> dict[str, int]:
    sql = "SELECT o.status, count(*) FROM outbox o JOIN messages m ON m.id = o.message_id"
    if channel:
        sql += " WHERE m.channel = :channel"
    rows = await _query(database_url, sql + " GROUP BY o.status", channel=channel)
    return {status: count for status, count in rows}


async def lease_holders(database_url: str) -> set[int]:
    """Pids of the workers holding a lease on a row they have not sent yet."""
    rows = await _query(
        database_url,
        "SELECT DISTINCT lease_owner FROM outbox "
        "WHERE status = 'pending' AND lease_owner IS NOT NULL",
    )
    # sender-<host>-<pid>-<nonce>
    return {int(owner.rsplit("-", 2)[1]) for (owner,) in rows}


async def check_exactly_once(
    gateway: GatewayProcess,
    database_url: str,
    fake: FakeTwilio,
    people: list[Customer],
    *,
    allowed: frozenset[int] = frozenset({200}),
) -> None:
    """Every message acknowledged, stored once, answered once, in order, at the provider too."""
    for person in people:
        assert all(person.acked), f"{person.number}: not acknowledged: {person.answers}"
        statuses = {a.status for answers in person.answers for a in answers}
        assert statuses <= allowed, f"{person.number}: unexpected answers {statuses - allowed}"
    # The database: each MessageSid exactly once, nothing else stored.
    expected = Counter(p["MessageSid"] for person in people for p in person.params)
    rows = await _query(
        database_url,
        "SELECT provider_message_id, count(*) FROM messages "
        "WHERE direction = 'in' AND channel = 'sms' GROUP BY provider_message_id",
    )
    assert Counter(dict(rows)) == expected
    assert await outbox_statuses(database_url, "sms") == {"sent": expected.total()}
    # The API: one reply per message, in the order of the messages.
    accepted = replies_by_number(fake)
    for person in people:
        found = await gateway.api(f"/api/v1/customers?identity=sms:{person.number}")
        transcript = (await gateway.api(f"/api/v1/customers/{found['id']}/messages"))["messages"]
        inbound = [m["text"] for m in transcript if m["direction"] == "in"]
        replies = [m["text"] for m in transcript if m["direction"] == "out"]
        assert inbound == [f"sipariş {order}" for order in person.orders], person.number
        assert _quoted(replies) == person.orders, (person.number, replies)
        # The provider: exactly one SMS per message, in order.
        assert _quoted(accepted.get(person.number, [])) == person.orders, (
            person.number,
            accepted.get(person.number),
        )


def _quoted(bodies: list[str]) -> list[str]:
    """The order number each reply quotes (the bot's answers quote exactly one)."""
    found = []
    for body in bodies:
        numbers = [word.strip(".,:;!?") for word in body.split()]
        quoted = [n for n in numbers if n.isdigit() and len(n) >= 7]
        assert len(quoted) == 1, body
        found.append(quoted[0])
    return found
