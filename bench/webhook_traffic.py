"""Signed Twilio SMS webhooks, and the replies the fake provider receives, matched to them.

Every customer has a phone number of its own. Nine messages in ten ask about an order number
unique to the run ("sipariş 10000042"): the bot's answer quotes it, so the reply the provider
gets (To = the customer, the number in Body) names its message. The second of every ten (the
2nd, 12th, ...) says "merhaba": the greeting quotes no number, so it is matched by its To
number to that customer's oldest greeting still waiting for an answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from adapters.fakes import FakeTwilio, RecordedCall, sign_twilio, twilio_inbound_params
from adapters.fakes.twilio_webhooks import new_sid
from bench.http1 import post_bytes

NUMBER = re.compile(r"(?<!\d)(\d{4,12})(?!\d)")
GREETING_EVERY = 10  # one message in ten of a customer is "merhaba"
GREETING_REPLY = "Merhaba"  # how the bot's greeting starts (handlers/smalltalk.py)
SAMPLE_LIMIT = 10
MAX_NUMBER = 99_999_999

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "omnigate-bench-twilio-auth-token"
SMS_FROM = "+15005550006"
WEBHOOK_PATH = "/webhooks/twilio"


@dataclass(slots=True)
class Webhook:
    phone: str
    number: str | None  # the order number asked about; None for a greeting
    sid: str
    request: bytes = b""  # the whole HTTP request, signed
    sent: float | None = None
    acked: float | None = None
    status: int | None = None
    error: str | None = None
    replies: list[float] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        return "merhaba" if self.number is None else f"sipariş {self.number}"

    @property
    def ok(self) -> bool:
        return self.status == 200


def phone(index: int) -> str:
    return f"+90555{index:07d}"


def plan(customers: int, per_customer: int, base: int, first_phone: int = 0) -> list[list[Webhook]]:
    """`per_customer` messages for each of `customers` phones (numbered from `first_phone`),
    order numbers from `base`."""
    if base + customers * per_customer > MAX_NUMBER:
        raise ValueError(f"{customers}×{per_customer} messages do not fit in 8-digit numbers")
    plans = []
    for c in range(customers):
        messages = []
        for i in range(per_customer):
            greeting = i % GREETING_EVERY == 1
            number = None if greeting else str(base + c * per_customer + i)
            messages.append(Webhook(phone(first_phone + c), number, new_sid("SM")))
        plans.append(messages)
    return plans


def interleave(plans: list[list[Webhook]]) -> list[Webhook]:
    """One message of each customer in turn: a burst spreads over every conversation."""
    longest = max((len(p) for p in plans), default=0)
    return [p[i] for i in range(longest) for p in plans if i < len(p)]


def sign_all(webhooks: list[Webhook], host: str, port: int) -> None:
    """Serialize and sign every request for the server at host:port (before the clock runs)."""
    url = f"http://{host}:{port}{WEBHOOK_PATH}"
    for webhook in webhooks:
        params = twilio_inbound_params(
            from_=webhook.phone,
            to=SMS_FROM,
            body=webhook.text,
            account_sid=ACCOUNT_SID,
            message_sid=webhook.sid,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": sign_twilio(url, params, AUTH_TOKEN),
        }
        body = urlencode(params).encode("utf-8")
        webhook.request = post_bytes(host, port, WEBHOOK_PATH, headers, body)


class Ledger:
    """Replies received at the provider, matched to the webhooks that asked for them."""

    def __init__(self) -> None:
        self._orders: dict[tuple[str, str], Webhook] = {}
        self._greetings: dict[str, deque[Webhook]] = {}
        self.unexpected = 0  # replies that answer nothing we sent
        self.wrong = 0  # replies that are neither an order answer nor a greeting
        self.samples: list[str] = []
        self.last_reply: float | None = None

    def expect(self, webhook: Webhook) -> None:
        """Call just before the webhook goes out."""
        if webhook.number is None:
            self._greetings.setdefault(webhook.phone, deque()).append(webhook)
        else:
            self._orders[(webhook.phone, webhook.number)] = webhook

    def forget_greetings(self) -> None:
        """Between phases: greetings still unanswered stay unanswered (they count as lost), and
        do not take the next phase's greeting replies."""
        self._greetings.clear()

    def _sample(self, kind: str, to: str, body: str) -> None:
        if len(self.samples) < SAMPLE_LIMIT:
            self.samples.append(f"{kind}: To={to} Body={body[:120]!r}")

    def received(self, to: str, body: str, at: float) -> None:
        self.last_reply = at
        numbers = set(NUMBER.findall(body))
        webhook: Webhook | None = None
        if len(numbers) == 1:
            webhook = self._orders.get((to, numbers.pop()))
        elif not numbers and body.startswith(GREETING_REPLY):
            waiting = self._greetings.get(to)
            webhook = waiting.popleft() if waiting else None
        else:
            self.wrong += 1
            self._sample("wrong reply", to, body)
            return
        if webhook is None:
            self.unexpected += 1
            self._sample("reply to nothing sent", to, body)
            return
        if webhook.replies:
            self._sample("repeated reply", to, body)
        webhook.replies.append(at)
        webhook.answered.set()


class RecordingTwilio(FakeTwilio):
    """FakeTwilio that hands every accepted message to the ledger with its arrival time."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ACCOUNT_SID, AUTH_TOKEN, status_callbacks=False)
        self.ledger = ledger

    def _answer(self, call: RecordedCall, status: int, body: Any, **headers: str) -> web.Response:
        if status == 201 and call.method == "POST":
            now = time.perf_counter()
            self.ledger.received(call.form.get("To", ""), call.form.get("Body", ""), now)
        return super()._answer(call, status, body, **headers)
