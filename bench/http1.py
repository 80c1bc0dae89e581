"""A lean HTTP/1.1 keep-alive client: one request at a time per connection, prepared bytes.

The webhook load must outrun the server it measures, on the same 2 cores, so the client does
as little as it can: requests are serialized and signed before the clock starts, and a
response is read by its status line and Content-Length only (what aiohttp's client would do
with ten times the Python per request). Anything else (chunked bodies, a closed connection)
is an error for that request and the connection is opened again for the next one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


class ProtocolError(Exception):
    """The server's answer is not a response this client reads."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    at: float  # time.perf_counter() when the whole response had arrived


def post_bytes(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """An HTTP/1.1 POST, keep-alive, as the bytes that go on the wire."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            response = self._parse()
        except ProtocolError as exc:
            self.waiter.set_exception(exc)
            return
        if response is not None:
            self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed: {exc!r}"))

    def _parse(self) -> Response | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(f"bad status line {status_line!r}")
        length = None
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding":
                raise ProtocolError(f"unsupported Transfer-Encoding: {value.strip()}")
        if length is None:
            raise ProtocolError("response without Content-Length")
        total = end + 4 + length
        if len(self.buffer) < total:
            return None
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        return Response(int(parts[1]), body, time.perf_counter())


class Connection:
    """One keep-alive connection to (host, port), reopened after an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._protocol: _Protocol | None = None

    async def connect(self) -> None:
        await self._open()

    async def _open(self) -> _Protocol:
        if self._protocol is None or self._protocol.closed:
            loop = asyncio.get_running_loop()
            _transport, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            self._protocol = protocol
        return self._protocol

    async def request(self, data: bytes) -> Response:
        """Send prepared request bytes and wait for the whole response."""
        try:
            protocol = await self._open()
            assert protocol.transport is not None
            protocol.buffer.clear()
            protocol.waiter = asyncio.get_running_loop().create_future()
            protocol.transport.write(data)
            async with asyncio.timeout(self.timeout):
                return await protocol.waiter
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
