"""The phones' live feed: what customers sent, what reached the providers, and statuses.

A watcher reads the fakes' records every few milliseconds (they are plain lists and dicts in
this process) and turns each new provider API call into a phone message, and each status
callback a fake delivered to the gateway into a status change. Items carry an increasing
`seq`; the page gets them over a WebSocket (`subscribe`) or by polling (`items_after`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from typing import Any

from adapters.fakes import RecordedCall
from bot.model import utcnow
from simulator.phone_events import (
    PhoneMessage,
    from_graph,
    from_telegram,
    from_twilio,
    graph_status,
)
from simulator.providers import SimulatedProviders

log = logging.getLogger("omnigate.simulator")

Item = dict[str, Any]
TELEGRAM_SENDS = frozenset({"sendmessage", "sendphoto", "senddocument"})
MAX_ITEMS = 5000
SUBSCRIBER_BACKLOG = 2000  # a page that stops reading is dropped, not buffered forever


class Feed:
    def __init__(self, providers: SimulatedProviders, *, interval: float = 0.05) -> None:
        self._providers = providers
        self._interval = interval
        self._items: deque[Item] = deque(maxlen=MAX_ITEMS)
        self._messages: dict[str, Item] = {}
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._subscribers: set[asyncio.Queue[Item]] = set()
        self._by_provider_id: dict[str, str] = {}
        self._twilio_seen = 0
        self._twilio_used: set[int] = set()
        self._twilio_callbacks = 0
        self._graph_seen = 0
        self._graph_callbacks = 0
        self._telegram_calls = 0
        self._telegram_sent = 0
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in list(self._subscribers):
            queue.put_nowait({"type": "bye"})

    async def _watch(self) -> None:
        while True:
            try:
                self.scan()
            except Exception:  # one odd record must not stop the phones' feed
                log.exception("[simulation] feed: could not read a provider record")
            await asyncio.sleep(self._interval)

    # -- reading -------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._items[-1]["seq"] if self._items else 0

    def items_after(self, seq: int) -> list[Item]:
        return [item for item in self._items if item["seq"] > seq]

    def subscribe(self) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Item]) -> None:
        self._subscribers.discard(queue)

    # -- writing -------------------------------------------------------------------------

    def add_message(self, message: PhoneMessage) -> Item:
        item: Item = {
            "type": "message",
            "id": f"m{next(self._ids)}",
            "at": utcnow().isoformat(),
            **message.to_dict(),
        }
        self._messages[item["id"]] = item
        if len(self._messages) > MAX_ITEMS:  # forget the oldest, as the item log does
            del self._messages[next(iter(self._messages))]
        if message.provider_id:
            self._by_provider_id[message.provider_id] = item["id"]
        self._publish(item)
        return item

    def set_status(self, message_id: str, status: str, error: str = "", **extra: Any) -> None:
        message = self._messages.get(message_id)
        if message is not None:
            message["status"], message["error"] = status, error
        self._publish(
            {"type": "status", "id": message_id, "status": status, "error": error, **extra}
        )

    def status_by_provider_id(self, provider_id: str, status: str, error: str = "") -> None:
        message_id = self._by_provider_id.get(provider_id)
        if message_id is not None:
            self.set_status(message_id, status, error)

    def note(self, text: str, **extra: Any) -> None:
        """A line for the page's activity log (window aged, webhook rejected…)."""
        self._publish({"type": "note", "text": text, "at": utcnow().isoformat(), **extra})

    def _publish(self, item: Item) -> None:
        item["seq"] = next(self._seq)
        self._items.append(item)
        for queue in list(self._subscribers):
            if queue.qsize() > SUBSCRIBER_BACKLOG:
                self._subscribers.discard(queue)
                continue
            queue.put_nowait(item)

    # -- the fakes' records --------------------------------------------------------------

    def scan(self) -> None:
        self._scan_twilio()
        self._scan_graph()
        self._scan_telegram()

    def _scan_twilio(self) -> None:
        twilio = self._providers.twilio
        sids = list(twilio.messages)
        for sid in sids[self._twilio_seen :]:
            message = twilio.messages[sid]
            call = self._twilio_call(message)
            form = call.form if call else {}
            media = call.getall("MediaUrl") if call else []
            self.add_message(from_twilio(message, form, media))
            self._twilio_seen += 1
        for _url, params, _answer in twilio.callbacks[self._twilio_callbacks :]:
            error = params.get("ErrorCode", "")
            self.status_by_provider_id(params.get("MessageSid", ""), params["MessageStatus"], error)
            self._twilio_callbacks += 1

    def _twilio_call(self, message: dict[str, Any]) -> RecordedCall | None:
        """The accepted request that created `message` (for its media URLs and template)."""
        for call in self._providers.twilio.calls:
            if id(call) in self._twilio_used or call.method != "POST" or call.status != 201:
                continue
            form = call.form
            if form.get("To") == message["to"] and form.get("Body", "") == message["body"]:
                self._twilio_used.add(id(call))
                return call
        return None

    def _scan_graph(self) -> None:
        graph = self._providers.graph
        wamids = list(graph.messages)
        for wamid in wamids[self._graph_seen :]:
            self.add_message(from_graph(wamid, graph.messages[wamid]))
            self._graph_seen += 1
        for payload, _answer in graph.callbacks[self._graph_callbacks :]:
            for entry in payload.get("entry", []):
                for change in entry.get("changes", []):
                    for status in change.get("value", {}).get("statuses", []):
                        self.status_by_provider_id(*graph_status(status))
            self._graph_callbacks += 1

    def _scan_telegram(self) -> None:
        telegram = self._providers.telegram
        for call in telegram.api_calls[self._telegram_calls :]:
            if call.request.status == 0:
                break  # still being answered: look again next time
            self._telegram_calls += 1
            if call.method.lower() not in TELEGRAM_SENDS or call.request.status != 200:
                continue
            sent = telegram.sent[self._telegram_sent]
            self._telegram_sent += 1
            self.add_message(from_telegram(call.method, call.params, sent))
