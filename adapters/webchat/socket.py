"""The public web chat WebSocket protocol (JSON text frames), documented in the README.

Every bad frame gets an error frame and the connection stays open; nothing from the server's
insides (stack traces, SQL) reaches the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from adapters.webchat.adapter import WebchatHost, session_topic
from adapters.webchat.session import SessionSigner
from bot.model import Address, IdentityRefused, Inbound, Kind
from storage.coordination import GAP

log = logging.getLogger("omnigate.webchat")

MAX_CLIENT_ID = 100
HISTORY_LIMIT = 200


class Unavailable(Exception):
    """Raised by the host's ingest when it cannot store the message now."""


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


class WebchatSocket:
    def __init__(
        self,
        host: WebchatHost,
        signer: SessionSigner,
        *,
        max_text_bytes: int = 4096,
        burst_limit: int = 100,
        burst_window: float = 10.0,
    ) -> None:
        self._host = host
        self._signer = signer
        self._max_text = max_text_bytes
        self._burst_limit = burst_limit
        self._burst_window = burst_window

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # Frames larger than the text limit are answered with an error frame; only absurdly
        # large ones (over 16 times the limit) make aiohttp close the socket.
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=max(65536, self._max_text * 16))
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client left during the handshake: nobody to serve
            return ws
        opened = await self._open_session(ws, request.query.get("session", ""))
        if opened is None:
            return ws
        session_id, subscription = opened
        forward = asyncio.create_task(self._forward(ws, session_id, subscription))
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._on_text(ws, session_id, frame.data)
                elif frame.type == WSMsgType.BINARY:
                    await ws.send_json(_error("bad_frame", "Send JSON text frames."))
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            await subscription.close()
        return ws

    async def _open_session(self, ws: web.WebSocketResponse, token: str) -> tuple[str, Any] | None:
        session_id = self._signer.verify(token) if token else None
        if token and session_id is None:
            await ws.send_json(_error("bad_session", "Session unknown; a new one was started."))
        if session_id is None:
            session_id, token = self._signer.new()
        try:
            customer_id = await self._host.open_session(session_id)
            # Subscribe before reading the history: a reply sent in between arrives live
            # (the client de-duplicates by id) instead of falling into the gap.
            subscription = await self._host.subscribe(session_topic(session_id))
            try:
                history = await self._host.history(session_id)
            except Exception:
                await subscription.close()
                raise
        except Exception:
            log.exception("web chat session could not be opened")
            await ws.send_json(_error("unavailable", "Chat is unavailable, please retry."))
            await ws.close()
            return None
        await ws.send_json({"type": "session", "session": token, "customer_id": customer_id})
        await ws.send_json({"type": "history", "messages": [_history_item(m) for m in history]})
        return session_id, subscription

    async def _forward(self, ws: web.WebSocketResponse, session_id: str, subscription: Any) -> None:
        while not ws.closed:
            frame = await subscription.get(timeout=30.0)
            if frame is None or ws.closed:
                continue
            if frame.get("type") == GAP:
                await self._resend_history(ws, session_id)
            else:
                await ws.send_json(frame)

    async def _resend_history(self, ws: web.WebSocketResponse, session_id: str) -> None:
        """Live frames may have been lost (the pub/sub link broke): the transcript again, which
        the widget merges without repeating what it shows (a reply is never silently lost)."""
        try:
            history = await self._host.history(session_id)
        except Exception:
            log.exception("web chat history could not be read again after a pub/sub gap")
            return
        if not ws.closed:
            await ws.send_json({"type": "history", "messages": [_history_item(m) for m in history]})

    async def _on_text(self, ws: web.WebSocketResponse, session_id: str, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            await ws.send_json(_error("bad_frame", "Frames must be JSON objects."))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await ws.send_json(_error("bad_frame", 'Frames need a "type".'))
            return
        kind = frame["type"]
        if kind == "ping":
            await ws.send_json({"type": "pong"})
        elif kind in ("message", "button"):
            await self._on_message(ws, session_id, frame)
        elif kind == "identify":
            await self._on_identify(ws, session_id, frame)
        else:
            await ws.send_json(_error("unknown_type", f"Unknown frame type {kind[:40]!r}."))

    async def _on_identify(
        self, ws: web.WebSocketResponse, session_id: str, frame: dict[str, Any]
    ) -> None:
        """The brand's site vouches for who the visitor is (HMAC-signed claims)."""
        try:
            customer_id = await self._host.identify(session_id, frame)
        except IdentityRefused as refused:
            await ws.send_json(_error("bad_identity", str(refused)))
            return
        except Exception:
            log.exception("web chat identify failed")
            await ws.send_json(_error("unavailable", "Identity could not be checked, retry."))
            return
        history = await self._host.history(session_id)
        await ws.send_json({"type": "identified", "customer_id": customer_id})
        await ws.send_json({"type": "history", "messages": [_history_item(m) for m in history]})

    async def _on_message(
        self, ws: web.WebSocketResponse, session_id: str, frame: dict[str, Any]
    ) -> None:
        client_id = frame.get("client_id")
        if client_id is not None and (
            not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID
        ):
            await ws.send_json(_error("bad_frame", "client_id must be a short string."))
            return
        is_button = frame["type"] == "button"
        text = frame.get("title" if is_button else "text", frame.get("text", ""))
        payload = frame.get("payload", "") if is_button else ""
        if not isinstance(text, str) or not isinstance(payload, str):
            await ws.send_json(
                _error("bad_frame", "text and payload must be strings.", client_id=client_id)
            )
            return
        if not text.strip() and not payload:
            await ws.send_json(_error("bad_frame", "Empty message.", client_id=client_id))
            return
        if len(text.encode()) > self._max_text or len(payload.encode()) > self._max_text:
            await ws.send_json(
                _error(
                    "too_large",
                    f"Message is longer than {self._max_text} bytes.",
                    client_id=client_id,
                    limit=self._max_text,
                )
            )
            return
        try:
            allowed = await self._host.allow(
                f"webchat:burst:{session_id}", self._burst_limit, self._burst_window
            )
        except Exception as exc:  # the shared limiter (Redis) is down: nothing was stored
            log.warning("web chat rate limiter unavailable: %s", exc)
            await ws.send_json(
                _error("unavailable", "Message not stored, please resend.", client_id=client_id)
            )
            return
        if not allowed:
            await ws.send_json(
                _error("rate_limited", "Too many messages; please slow down.", client_id=client_id)
            )
            return
        inbound = Inbound(
            # The client id makes a resend after a reconnect the same message, not a second one.
            provider_id=f"{session_id}:{client_id or secrets.token_hex(8)}",
            address=Address("webchat", "webchat", "web", session_id),
            kind=Kind.BUTTON if is_button else Kind.TEXT,
            text=text,
            payload=payload,
            external_id=session_id,
            extra={"client_id": client_id} if client_id else {},
        )
        try:
            results = await self._host.ingest([inbound])
        except Exception:
            log.warning("web chat message not stored", exc_info=True)
            await ws.send_json(
                _error("unavailable", "Message not stored, please resend.", client_id=client_id)
            )
            return
        result = results[0]
        await ws.send_json(
            {
                "type": "ack",
                "client_id": client_id,
                "id": result.message_id,
                "duplicate": result.duplicate,
            }
        )


def _history_item(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": message["id"],
        "direction": message["direction"],
        "sender": message["sender"],
        "text": message["text"],
        "buttons": message.get("buttons") or [],
        "channel": message["channel"],
        "created_at": message["created_at"],
        "client_id": message.get("client_id"),
        "delivery_status": message.get("delivery_status"),
    }
