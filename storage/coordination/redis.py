"""Redis coordination for several workers: locks, dedupe keys, pub/sub, rate limits.

Same contract as `MemoryCoordination`, with these choices:

- Every key and channel carries `prefix` and a kind (`lock:`, `claim:`, `hit:`, `pace:`,
  `topic:`), so lock "x" and claim "x" never collide and tests can delete `prefix*`.
- redis-py's own retries are off. A command that fails on a dead pooled connection is
  retried once here; the lock, claim and hit scripts are written to be safe to run twice,
  a repeated reserve only paces a little slower, and PUBLISH is never repeated (it could
  deliver an event twice). Concurrent publishes share one pipelined round trip.
  When Redis stays down, methods raise `CoordinationUnavailable`,
  a builtin `ConnectionError`, which callers turn into a 503.
- `hit` is a sliding log (sorted set of accepted events), exact like the in-process one:
  refused events are not stored, so a key holds at most `limit` entries.
- `hit` and `reserve` read the clock with Redis TIME, so workers with skewed clocks agree.
- Pub/sub uses one Redis connection per instance, fanned out to local queues, so thousands
  of WebSocket clients cost one connection. A reader task owns it; on any error (or a
  missed heartbeat) it drops the connection and opens a fresh one subscribed to exactly
  the live topics. Messages published while the link is down are lost (Redis pub/sub is
  at most once); the database stays the source of truth.
- `publish` returns what Redis reports: the number of subscribed *connections*, i.e. one
  per worker that has subscribers, not one per subscription. Only 0 versus >0 is portable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from storage.coordination.base import GAP, Coordination, Subscription
from storage.coordination.redis_batch import CallQueue, ScriptCall, run_scripts

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT = 2.0  # seconds to open a TCP connection before calling Redis down
COMMAND_TIMEOUT = 5.0  # seconds for one command's reply
MAX_CONNECTIONS = 50  # command connections per process (the pub/sub link is its own)
CONFIRM_TIMEOUT = 5.0  # seconds for a (un)subscribe to be confirmed on the pub/sub link
POLL_INTERVAL = 1.0  # the reader wakes this often to run the heartbeat
HEARTBEAT_IDLE = 10.0  # ping the pub/sub link after this long without traffic...
HEARTBEAT_TIMEOUT = 5.0  # ...and reconnect when the ping is not answered in time
RECONNECT_DELAYS = (0.05, 2.0)  # first and longest pause between reconnect attempts
QUEUE_LIMIT = 10_000  # per subscription; a stuck consumer must not grow memory forever
HEARTBEAT_TOKEN = "omnigate-heartbeat"
GAP_TOKEN = "omnigate-resubscribed"

# Worth one more try on a fresh connection; a timeout is not (the server is slow or frozen).
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (redis_errors.ConnectionError, OSError)
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # includes BusyLoadingError while Redis loads its data
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica after a failover
    OSError,
    TimeoutError,
)


class CoordinationUnavailable(ConnectionError):
    """Redis cannot be reached; the operation did not take effect and may be retried."""


# One queued publish: its channels and the JSON.
_Publish = tuple[tuple[str, ...], str]

# Take or renew the lock when it is free or already ours (same semantics as in-process).
_TRY_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_EXTEND_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# The value is a per-call token, so a retried claim whose first reply was lost still wins.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""

# Sliding log in microseconds of Redis time. ARGV: limit, window (us), event id (per call,
# so a retried call is not counted twice).
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
return 1
"""

# "Next free slot" in microseconds of Redis time; returns how long the caller waits for its
# slot. The key expires once its slot is in the past, when it no longer matters.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now) / 1000) + 1000)
return slot - now
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _RedisSubscription(Subscription):
    def __init__(self, hub: _PubSubHub, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self.dropped = 0  # messages discarded because the consumer fell QUEUE_LIMIT behind
        self._hub = hub
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._closed = False
        # Set by the reader when this subscription's confirmation arrives, so a message that
        # was already in flight when subscribe() was called is not delivered (as in-process).
        self.active = False

    def deliver(self, message: dict[str, Any]) -> None:
        # Never block the shared reader on one slow consumer: drop what it has not read, and
        # tell it so (it reads the database again instead of replaying a stale backlog).
        if self._queue.qsize() >= QUEUE_LIMIT:
            if self.dropped == 0:
                log.warning("pub/sub consumer too slow, dropping", extra={"topics": self.channels})
            while not self._queue.empty():
                self._queue.get_nowait()
                self.dropped += 1
            self.gap()
        self._queue.put_nowait(message)

    def gap(self) -> None:
        """Some messages may not have reached this subscription (see base.GAP)."""
        self._queue.put_nowait({"type": GAP})

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        if not self._queue.empty():  # fast path: wait_for costs a task per call
            return self._queue.get_nowait()
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._hub.remove(self)


class _PubSubHub:
    """One Redis pub/sub connection shared by every subscription of a RedisCoordination."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._pubsub: PubSub | None = None
        self._server: set[str] = set()  # channels SUBSCRIBEd on the current connection
        self._subs: dict[str, set[_RedisSubscription]] = {}
        # A PING sent after a (UN)SUBSCRIBE on the same connection is answered after it, so
        # its pong proves the server applied the change before any later PUBLISH.
        self._pongs: dict[str, tuple[asyncio.Future[None], _RedisSubscription | None]] = {}
        self._lock = asyncio.Lock()  # one writer of (un)subscribe commands at a time
        self._reader: asyncio.Task[None] | None = None
        self._last_traffic = 0.0
        self._heartbeat_sent: float | None = None
        self._healthy = True
        self.connections = 0  # pub/sub connections opened so far (1 + reconnects)

    async def add(self, sub: _RedisSubscription) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(), name="omnigate-pubsub")
        token, confirmed = self._new_waiter(sub)
        try:
            async with self._lock:
                for channel in sub.channels:
                    self._subs.setdefault(channel, set()).add(sub)
                await self._send_subscribe(sub.channels, token)
            await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT)
        except BaseException as exc:
            await self.remove(sub, confirm=False)
            if isinstance(exc, UNAVAILABLE_ERRORS):
                raise CoordinationUnavailable(f"Redis pub/sub unavailable: {exc}") from exc
            raise
        finally:
            self._pongs.pop(token, None)

    async def remove(self, sub: _RedisSubscription, *, confirm: bool = True) -> None:
        token, confirmed = self._new_waiter(None) if confirm else ("", None)
        try:
            async with self._lock:
                gone: list[str] = []
                for channel in sub.channels:
                    subs = self._subs.get(channel)
                    if subs is None:
                        continue
                    subs.discard(sub)
                    if not subs:
                        del self._subs[channel]
                        if channel in self._server:
                            gone.append(channel)
                if not gone or self._pubsub is None:
                    return
                self._server.difference_update(gone)
                try:
                    await self._pubsub.unsubscribe(*gone)
                    if confirm:
                        await self._pubsub.ping(token)
                except Exception as exc:
                    await self._discard(exc)  # the reader reconnects without these channels
                    return
            if confirmed is not None:
                # Closing must not fail; an unconfirmed UNSUBSCRIBE only costs a stray message.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT)
        finally:
            self._pongs.pop(token, None)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        async with self._lock:
            await self._discard()
            self._subs.clear()

    # -- connection ---------------------------------------------------------------------

    def _new_waiter(self, sub: _RedisSubscription | None) -> tuple[str, asyncio.Future[None]]:
        token = uuid.uuid4().hex
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs[token] = (waiter, sub)
        return token, waiter

    async def _send_subscribe(self, channels: tuple[str, ...], token: str) -> None:
        """With the lock held: subscribe `channels` and ping `token` behind them."""
        if self._pubsub is None:
            await self._connect()  # subscribes every live channel and pings every waiter
            return
        new = [channel for channel in channels if channel not in self._server]
        try:
            if new:
                await self._pubsub.subscribe(*new)
                self._server.update(new)
            await self._pubsub.ping(token)
        except Exception as exc:
            # A broken link (say Redis restarted): rebuild it once before giving up.
            await self._discard(exc)
            await self._connect()

    async def _connect(self) -> None:
        """With the lock held: open a connection subscribed to exactly the live channels."""
        pubsub = self._client.pubsub()
        channels = list(self._subs)
        try:
            if channels:
                await pubsub.subscribe(*channels)
            else:
                await pubsub.connect()
            for token in list(self._pongs):  # waiters from before a reconnect
                await pubsub.ping(token)
            if self.connections:
                # What was published while the link was down is lost: once the server has
                # applied the subscriptions (this pong comes after them), say so.
                await pubsub.ping(GAP_TOKEN)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        self._pubsub = pubsub
        self._server = set(channels)
        self._last_traffic = asyncio.get_running_loop().time()
        self._heartbeat_sent = None
        self.connections += 1
        if not self._healthy:
            self._healthy = True
            log.info("Redis pub/sub reconnected", extra={"topics": len(channels)})

    async def _discard(self, error: BaseException | None = None) -> None:
        """With the lock held: drop the current connection (the reader reopens one)."""
        if error is not None and self._healthy:
            self._healthy = False
            log.warning("Redis pub/sub connection lost: %s: %s", type(error).__name__, error)
        pubsub, self._pubsub = self._pubsub, None
        self._server = set()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RECONNECT_DELAYS[0]
        while True:
            pubsub = self._pubsub
            try:
                if pubsub is None:
                    async with self._lock:
                        if self._pubsub is None:
                            await self._connect()
                        pubsub = self._pubsub
                    assert pubsub is not None
                message = await pubsub.get_message(timeout=POLL_INTERVAL)
                if message is not None:
                    self._last_traffic = loop.time()
                    self._heartbeat_sent = None
                    self._dispatch(message)
                else:
                    await self._heartbeat(pubsub, loop.time())
                delay = RECONNECT_DELAYS[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: drop the link and rebuild it
                async with self._lock:
                    if self._pubsub is not pubsub and self._pubsub is not None:
                        continue  # a subscriber already replaced the broken link
                    await self._discard(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_DELAYS[1])

    async def _heartbeat(self, pubsub: PubSub, now: float) -> None:
        # A half-open TCP link reads as silence forever; an unanswered ping exposes it.
        if self._heartbeat_sent is not None:
            if now - self._heartbeat_sent > HEARTBEAT_TIMEOUT:
                raise redis_errors.ConnectionError("pub/sub heartbeat not answered")
        elif now - self._last_traffic >= HEARTBEAT_IDLE:
            async with self._lock:
                if self._pubsub is pubsub:
                    await pubsub.ping(HEARTBEAT_TOKEN)
                    self._heartbeat_sent = now

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            channel = _text(message["channel"])
            subs = self._subs.get(channel)
            if not subs:
                return
            try:
                payload = json.loads(message["data"])
            except ValueError:
                log.warning("dropped a message that is not JSON", extra={"channel": channel})
                return
            for sub in tuple(subs):
                if sub.active:
                    sub.deliver(payload)
        elif kind == "pong" and _text(message["data"] or "") == GAP_TOKEN:
            for sub in {sub for subs in self._subs.values() for sub in subs}:
                if sub.active:
                    sub.gap()
        elif kind == "pong" and message["data"]:
            waiter, sub = self._pongs.get(_text(message["data"]), (None, None))
            if sub is not None:
                sub.active = True
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


class RedisCoordination(Coordination):
    def __init__(self, url: str, prefix: str = "omnigate:") -> None:
        self.prefix = prefix
        name = re.sub(r"[^A-Za-z0-9:._-]", "_", prefix)
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": COMMAND_TIMEOUT,
            "socket_keepalive": True,
            "retry": Retry(NoBackoff(), 0),  # retries are decided here, per operation
        }
        # health_check_interval pings a pooled connection idle for 30 s before reuse. The pool
        # is bounded and blocking: a burst of commands (a lock per conversation, publishes)
        # waits for a free connection instead of failing with "Too many connections", which
        # redis-py's default pool (100) does at once.
        self._client: Redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                url,
                max_connections=MAX_CONNECTIONS,
                timeout=COMMAND_TIMEOUT,
                client_name=f"{name}cmd",
                health_check_interval=30,
                **options,
            )
        )
        # The pub/sub link: no error is "retryable", so redis-py never reconnects it behind
        # the hub's back (a reader and a writer reconnecting one socket at once corrupt it);
        # it runs its own heartbeat; its name lets operators (and tests) find it.
        options["retry"] = Retry(NoBackoff(), 0, supported_errors=())
        self._pubsub_client: Redis = Redis.from_url(url, client_name=f"{name}pubsub", **options)
        self._hub = _PubSubHub(self._pubsub_client)
        # Calls of the same moment share a pipeline (see redis_batch.py). Lock scripts are
        # idempotent, so a batch is retried whole; a publish is not.
        self._publishes: CallQueue[_Publish] = CallQueue(
            lambda batch: self._run("publish", lambda: self._publish_batch(batch), idempotent=False)
        )
        self._locks: CallQueue[ScriptCall] = CallQueue(
            lambda batch: self._run("scripts", lambda: run_scripts(self._client, batch))
        )
        self._try_lock = self._client.register_script(_TRY_LOCK)
        self._extend_lock = self._client.register_script(_EXTEND_LOCK)
        self._unlock = self._client.register_script(_UNLOCK)
        self._claim = self._client.register_script(_CLAIM)
        self._hit = self._client.register_script(_HIT)
        self._reserve = self._client.register_script(_RESERVE)

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    async def _run(
        self, what: str, call: Callable[[], Awaitable[T]], *, idempotent: bool = True
    ) -> T:
        try:
            return await call()
        except UNAVAILABLE_ERRORS as exc:
            error: BaseException = exc
        if idempotent and isinstance(error, RETRYABLE_ERRORS):  # on a fresh pooled connection
            try:
                return await call()
            except UNAVAILABLE_ERRORS as exc:
                error = exc
        raise CoordinationUnavailable(f"Redis unavailable ({what}): {error}") from error

    async def try_lock(self, key: str, owner: str, ttl: float) -> bool:
        keys, args = [self._key("lock", key)], [owner, _ms(ttl)]
        return bool(await self._locks.call((self._try_lock, keys, args)))

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        keys, args = [self._key("lock", key)], [owner, _ms(ttl)]
        return bool(await self._locks.call((self._extend_lock, keys, args)))

    async def unlock(self, key: str, owner: str) -> None:
        keys, args = [self._key("lock", key)], [owner]
        await self._locks.call((self._unlock, keys, args))

    async def claim(self, key: str, ttl: float) -> bool:
        keys, args = [self._key("claim", key)], [uuid.uuid4().hex, _ms(ttl)]
        return bool(await self._run("claim", lambda: self._claim(keys, args)))

    async def forget(self, key: str) -> None:
        await self._run("forget", lambda: self._client.delete(self._key("claim", key)))

    async def publish_many(self, topics: Sequence[str], message: dict[str, Any]) -> int:
        """Queued, then sent with the other publishes of this moment in one pipeline: one
        round trip for many events instead of one each (each message changes 2-3 times)."""
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        channels = tuple(self._key("topic", topic) for topic in topics)
        return int(await self._publishes.call((channels, data)))

    async def _publish_batch(self, batch: list[_Publish]) -> list[int]:
        async with self._client.pipeline(transaction=False) as pipe:
            for channels, data in batch:
                for channel in channels:
                    pipe.publish(channel, data)
            counts = iter(await pipe.execute())
        # The pipeline answers one count per channel; a publish delivered their sum.
        return [sum(int(next(counts)) for _ in channels) for channels, _ in batch]

    async def subscribe(self, *topics: str) -> Subscription:
        channels = tuple(dict.fromkeys(self._key("topic", topic) for topic in topics))
        sub = _RedisSubscription(self._hub, channels)
        if channels:
            await self._hub.add(sub)
        return sub

    async def hit(self, key: str, limit: int, window: float) -> bool:
        keys = [self._key("hit", key)]
        args = [limit, max(1, round(window * 1_000_000)), uuid.uuid4().hex]
        return bool(await self._run("hit", lambda: self._hit(keys, args)))

    async def reserve(self, key: str, rate: float) -> float:
        if rate <= 0:
            return 0.0
        keys, args = [self._key("pace", key)], [max(1, round(1_000_000 / rate))]
        # Not idempotent, but a repeat only reserves one extra slot: pacing a bit slower.
        waited = await self._run("reserve", lambda: self._reserve(keys, args))
        return int(waited) / 1_000_000

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), CONNECT_TIMEOUT))
        except Exception:
            return False

    async def close(self) -> None:
        await self._publishes.flush(COMMAND_TIMEOUT)  # send what's queued
        await self._hub.close()
        await self._client.aclose()
        await self._pubsub_client.aclose()
