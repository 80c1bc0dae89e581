"""The sender sends new replies at once, without waiting for its periodic scan, even when more
conversations have replies due than it has sends in flight."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

from sqlalchemy import event

from bot.sender import LOOK_AHEAD
from tests.channels.stack import channel_stack, eventually

CUSTOMERS = [f"+90555200{n:04d}" for n in range(6)]
ORDERS = 3  # messages per customer, each answered with its order number quoted


async def test_replies_go_out_between_scans_with_more_queues_than_slots(sqlite_url: str) -> None:
    # Two sends at a time for six conversations, and no periodic scan within the test: every
    # reply goes out because a turn or a finished send woke the sender for its conversation.
    async with channel_stack(
        sqlite_url, outbox_concurrency=2, outbox_poll_interval=60.0, twilio_callbacks=False
    ) as channels:
        await asyncio.sleep(0.3)  # the sender's first round (a scan) is over
        rounds = Counter[str]()

        @event.listens_for(channels.gw.runtime.engine.sync_engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            if "GROUP BY outbox.conversation_id" in sql:
                rounds["woken" if "outbox.conversation_id IN" in sql else "scan"] += 1

        for n in range(ORDERS):
            await asyncio.gather(
                *(
                    channels.twilio_in(f"sipariş {order_number(c, n)}", number=number)
                    for c, number in enumerate(CUSTOMERS)
                )
            )
        total = len(CUSTOMERS) * ORDERS
        await eventually(lambda: len(channels.twilio.sent()) >= total, timeout=20.0)
        assert rounds["scan"] == 0 and rounds["woken"] > 0, rounds
        quoted: dict[str, list[int]] = {number: [] for number in CUSTOMERS}
        for call in channels.twilio.sent():
            found = re.findall(r"\d{7}", call.form["Body"])
            assert found, call.form["Body"]
            quoted[call.form["To"]].append(int(found[0]))
        # Exactly one reply per message, each conversation's in the order it was asked.
        assert quoted == {
            number: [order_number(c, n) for n in range(ORDERS)]
            for c, number in enumerate(CUSTOMERS)
        }


async def test_a_backlog_longer_than_one_read_goes_out_without_waiting_for_the_scan(
    sqlite_url: str,
) -> None:
    # A round reads the due heads it has slots for plus LOOK_AHEAD more, and takes those next.
    # Once they are gone it must read again at once: there were more. It used to wait for a
    # send in flight to finish or for the periodic scan (60 s here), when the queues a
    # finished send woke it for had nothing more to send.
    customers = [f"+90555300{n:04d}" for n in range(LOOK_AHEAD + 30)]
    async with channel_stack(
        sqlite_url, outbox_concurrency=2, outbox_poll_interval=60.0, twilio_callbacks=False
    ) as channels:
        await asyncio.sleep(0.3)  # the sender's first round (a scan) is over
        channels.twilio.hang_next(2)  # both slots held: every other reply waits in the outbox
        await asyncio.gather(
            *(
                channels.twilio_in(f"sipariş {order_number(c, 0)}", number=number)
                for c, number in enumerate(customers)
            )
        )
        await eventually(lambda: len(channels.twilio.calls) == 2)
        await asyncio.sleep(0.5)  # the turns have queued their replies
        assert channels.twilio.sent() == []
        channels.twilio.recover()  # the two held sends fail (504) and will be retried later
        others = len(customers) - 2
        await eventually(lambda: len(channels.twilio.sent()) >= others, timeout=15.0)


def order_number(customer: int, n: int) -> int:
    return 7_000_000 + customer * 100 + n
