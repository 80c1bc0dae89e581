"""One web chat conversation: a WebSocket client that sends its messages one after another.

Each message waits for its `ack` (stored) and for the bot's reply before the next one goes,
as a person chatting would. Every frame is checked: one ack per message, one reply per
message, and the reply quotes the order number that message asked about (numbers are unique
across the run, so a reply routed to the wrong session is caught too).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

NUMBER = re.compile(r"(?<!\d)(\d{4,12})(?!\d)")
SAMPLE_LIMIT = 5  # bad frames kept verbatim for the report


@dataclass(slots=True)
class Turn:
    client_id: str
    number: str
    sent: float | None = None
    acked: float | None = None
    replied: float | None = None
    acks: int = 0
    replies: int = 0
    wrong_replies: int = 0  # bot answers that did not quote this message's number
    ack_id: int | None = None
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        return f"sipariş {self.number}"

    def settle(self) -> None:
        if (self.acks and (self.replies or self.wrong_replies)) or self.error:
            self.done.set()


class Conversation:
    def __init__(self, index: int, numbers: list[str]) -> None:
        self.index = index
        self.turns = [Turn(f"c{index}-m{i}", number) for i, number in enumerate(numbers)]
        self._by_client = {t.client_id: t for t in self.turns}
        self._by_number = {t.number: t for t in self.turns}
        self.customer_id: int | None = None
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.connect_seconds: float | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def sent_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.sent is not None]

    def _error(self, kind: str, frame: Any = None) -> None:
        self.errors[kind] += 1
        if frame is not None and len(self.samples) < SAMPLE_LIMIT:
            self.samples.append(f"{kind}: {str(frame)[:200]}")

    async def connect(self, http: aiohttp.ClientSession, ws_url: str, timeout: float) -> bool:
        """Open the socket and read `session` and `history`; False (and an error) on failure."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                self._ws = await http.ws_connect(ws_url, autoping=True)
                while self.customer_id is None:
                    frame = await self._ws.receive_json()
                    if frame.get("type") == "session":
                        self.customer_id = int(frame["customer_id"])
                    elif frame.get("type") == "error":
                        self._error(f"error:{frame.get('code')}", frame)
                        return False
                frame = await self._ws.receive_json()
                if frame.get("type") != "history":
                    self._error("no_history", frame)
        except (aiohttp.ClientError, TimeoutError, ValueError, TypeError, KeyError) as exc:
            self._error("connect_failed", repr(exc))
            return False
        self.connect_seconds = time.perf_counter() - started
        self._reader = asyncio.create_task(self._read())
        return True

    async def run(self, start: asyncio.Event, turn_timeout: float) -> None:
        """Send every message in turn, each after the previous one's ack and reply.

        A message not answered within `turn_timeout` is counted as a timeout and the next one
        goes anyway (as an impatient person would); its late reply still counts, matched by
        the number it quotes. Only a closed socket ends the conversation early.
        """
        if self._ws is None or self._reader is None:
            return
        await start.wait()
        for turn in self.turns:
            if self._reader.done():
                self._error("socket_closed")
                return
            frame = {"type": "message", "text": turn.text, "client_id": turn.client_id}
            turn.sent = time.perf_counter()
            try:
                await self._ws.send_str(json.dumps(frame, ensure_ascii=False))
                async with asyncio.timeout(turn_timeout):
                    await turn.done.wait()
            except TimeoutError:
                self._error("ack_timeout" if not turn.acks else "reply_timeout", turn.client_id)
                continue
            except (aiohttp.ClientError, ConnectionError) as exc:
                self._error("send_failed", repr(exc))
                return
            if turn.error == "socket_closed":
                return

    def outstanding(self) -> list[asyncio.Event]:
        """Events of the messages sent but not answered yet (late replies may still come)."""
        return [t.done for t in self.turns if t.sent is not None and not t.done.is_set()]

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            now = time.perf_counter()
            if message.type != aiohttp.WSMsgType.TEXT:
                self._error("non_text_frame", message.type)
                continue
            try:
                frame = json.loads(message.data)
                self._on_frame(frame, now)
            except (ValueError, TypeError, KeyError, AttributeError):
                self._error("bad_frame", message.data)
        if not self._closing:
            self._error("socket_closed_by_server")
            for turn in self.turns:
                if turn.sent is not None and not turn.done.is_set():
                    turn.error = "socket_closed"
                    turn.done.set()

    def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "ack":
            turn = self._by_client.get(frame.get("client_id") or "")
            if turn is None or turn.sent is None:
                self._error("unexpected_ack", frame)
                return
            turn.acks += 1
            if turn.acks == 1:
                turn.acked, turn.ack_id = now, frame.get("id")
            if frame.get("duplicate"):
                self._error("ack_marked_duplicate", frame)
            turn.settle()
        elif kind == "message":
            self._on_reply(frame, now)
        elif kind == "error":
            self._error(f"error:{frame.get('code')}", frame)
            turn = self._by_client.get(frame.get("client_id") or "")
            if turn is not None:
                turn.error = str(frame.get("code"))
                turn.done.set()
        elif kind not in ("pong", "history", "session"):
            self._error("unknown_frame", frame)

    def _on_reply(self, frame: dict[str, Any], now: float) -> None:
        if frame.get("sender") != "bot":
            self._error("reply_not_from_bot", frame)
            return
        numbers = set(NUMBER.findall(str(frame.get("text", ""))))
        turns = [self._by_number[n] for n in numbers if n in self._by_number]
        turns = [t for t in turns if t.sent is not None]
        if len(turns) != 1:
            # Quotes no number we asked about here, or several: charge it to the message that
            # is waiting for its answer (messages go one at a time), if there is one.
            self._error("wrong_reply", frame)
            waiting = [t for t in self.turns if t.sent is not None and not t.replies]
            if waiting and not waiting[-1].wrong_replies:
                waiting[-1].wrong_replies += 1
                waiting[-1].settle()
            return
        turn = turns[0]
        turn.replies += 1
        if turn.replies == 1:
            turn.replied = now
        turn.settle()
