"""One contract for every Coordination: in-process, and Redis when OMNIGATE_TEST_REDIS_URL is set.

Most tests take a `pair` of handles standing for two workers. In-process there is one worker,
so both handles are the same object; on Redis they are two RedisCoordination instances on one
key prefix, which is exactly what two gateway processes are. Redis keys live under a random
prefix and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from storage.coordination import GAP, Coordination, MemoryCoordination, Subscription
from storage.coordination.redis import QUEUE_LIMIT, CoordinationUnavailable, RedisCoordination
from tests.support import free_port, pubsub_client_ids

REDIS_URL = os.environ.get("OMNIGATE_TEST_REDIS_URL", "")
NO_REDIS = "OMNIGATE_TEST_REDIS_URL not set (CI sets redis://127.0.0.1:6379/0)"
needs_redis = pytest.mark.skipif(not REDIS_URL, reason=NO_REDIS)

Pair = tuple[Coordination, Coordination]


@asynccontextmanager
async def redis_workers(url: str) -> AsyncIterator[tuple[str, list[RedisCoordination]]]:
    """Two RedisCoordination (two workers) on one fresh prefix; its keys are deleted after."""
    prefix = f"omnigate-test-{secrets.token_hex(6)}:"
    workers = [RedisCoordination(url, prefix=prefix) for _ in range(2)]
    admin = Redis.from_url(url)
    try:
        for worker in workers:
            assert await worker.ping()  # connect now, not inside a timed step
        yield prefix, workers
    finally:
        for worker in workers:
            await worker.close()
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    if request.param == "memory":
        coordination = MemoryCoordination()
        yield coordination, coordination
        await coordination.close()
        return
    async with redis_workers(REDIS_URL) as (_prefix, (a, b)):
        yield a, b


@pytest.fixture
def coord(pair: Pair) -> Coordination:
    return pair[0]


@pytest.fixture
async def redis_setup() -> AsyncIterator[tuple[str, RedisCoordination, RedisCoordination]]:
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    async with redis_workers(REDIS_URL) as (prefix, (a, b)):
        yield prefix, a, b


async def sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def publish_until_received(
    publisher: Coordination, topic: str, sub: Subscription, within: float = 15.0
) -> None:
    """Publish probes until one arrives (a recovering link may lose the first ones)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await publisher.publish(topic, {"probe": True})
        if await sub.get(timeout=0.2) is not None:
            while await sub.get(timeout=0.2) is not None:
                pass  # drain late probes
            return
    pytest.fail(f"no message on {topic!r} within {within} s")


# -- locks ----------------------------------------------------------------------------------


async def test_lock_is_exclusive_between_workers(pair: Pair) -> None:
    a, b = pair
    assert await a.try_lock("conv:1", "w1", 5)
    assert not await b.try_lock("conv:1", "w2", 5)
    assert await a.try_lock("conv:1", "w1", 5)  # the holder may take it again (renews)
    assert await b.try_lock("conv:2", "w2", 5)  # keys are independent


async def test_a_burst_of_commands_waits_for_connections_instead_of_failing(
    coord: Coordination,
) -> None:
    """A worker with hundreds of conversations takes hundreds of locks at once: more than
    a connection pool holds, and none of them may fail for that."""
    taken = await asyncio.gather(*(coord.try_lock(f"conv:{n}", "w1", 5) for n in range(300)))
    assert taken == [True] * 300
    await asyncio.gather(*(coord.unlock(f"conv:{n}", "w1") for n in range(300)))


async def test_concurrent_lock_calls_each_get_their_own_answer(pair: Pair) -> None:
    """Lock calls made together (Redis sends them in one pipeline) answer as if alone."""
    a, b = pair
    assert await a.try_lock("conv:held", "w1", 5)
    answers = await asyncio.gather(
        *(a.try_lock(f"conv:{n}", "w1", 5) for n in range(20)),
        b.try_lock("conv:held", "w2", 5),
        b.extend_lock("conv:held", "w2", 5),
        a.extend_lock("conv:held", "w1", 5),
        b.unlock("conv:held", "w2"),
    )
    assert answers == [True] * 20 + [False, False, True, None]
    results = await asyncio.gather(
        *(a.unlock(f"conv:{n}", "w1") for n in range(10)),
        *(b.try_lock(f"conv:{n}", "w2", 5) for n in range(10, 20)),
    )
    assert results[10:] == [False] * 10  # still w1's
    assert (
        await asyncio.gather(*(b.try_lock(f"conv:{n}", "w2", 5) for n in range(10))) == [True] * 10
    )


async def test_lock_expires(pair: Pair) -> None:
    a, b = pair
    assert await a.try_lock("conv:1", "w1", 0.2)
    await asyncio.sleep(0.35)
    assert await b.try_lock("conv:1", "w2", 5)
    assert not await a.extend_lock("conv:1", "w1", 5)  # w1 lost it to w2


async def test_extend_only_by_owner(pair: Pair) -> None:
    a, b = pair
    assert await a.try_lock("conv:1", "w1", 0.3)
    assert not await b.extend_lock("conv:1", "w2", 5)
    assert await a.extend_lock("conv:1", "w1", 1.0)
    await asyncio.sleep(0.45)  # past the first ttl, within the extended one
    assert not await b.try_lock("conv:1", "w2", 5)
    assert not await b.extend_lock("nobody-holds-this", "w2", 5)


async def test_extend_after_expiry_fails(coord: Coordination) -> None:
    """Expired means lost, even if nobody took it: another worker may be about to."""
    assert await coord.try_lock("conv:1", "w1", 0.1)
    await asyncio.sleep(0.25)
    assert not await coord.extend_lock("conv:1", "w1", 5)


async def test_unlock_only_by_owner(pair: Pair) -> None:
    a, b = pair
    assert await a.try_lock("conv:1", "w1", 5)
    await b.unlock("conv:1", "w2")
    assert not await b.try_lock("conv:1", "w2", 5)
    await a.unlock("conv:1", "w1")
    assert await b.try_lock("conv:1", "w2", 5)
    await a.unlock("conv:1", "w1")  # no longer the holder: no effect
    assert not await a.try_lock("conv:1", "w1", 5)


# -- claims ---------------------------------------------------------------------------------


async def test_claim_once(pair: Pair) -> None:
    a, b = pair
    assert await a.claim("twilio:SM1", 5)
    assert not await b.claim("twilio:SM1", 5)
    assert not await a.claim("twilio:SM1", 5)
    assert await b.claim("twilio:SM2", 5)


async def test_claim_expires(pair: Pair) -> None:
    a, b = pair
    assert await a.claim("twilio:SM1", 0.2)
    await asyncio.sleep(0.35)
    assert await b.claim("twilio:SM1", 5)


async def test_forget_allows_a_new_claim(pair: Pair) -> None:
    a, b = pair
    assert await a.claim("twilio:SM1", 5)
    await b.forget("twilio:SM1")
    assert await b.claim("twilio:SM1", 5)
    await a.forget("never-claimed")


async def test_locks_and_claims_do_not_share_keys(coord: Coordination) -> None:
    assert await coord.claim("x", 5)
    assert await coord.try_lock("x", "w1", 5)
    assert await coord.hit("x", 1, 5)
    assert await coord.reserve("x", 10) == 0


# -- pub/sub --------------------------------------------------------------------------------


async def test_publish_without_subscribers_reaches_nobody(coord: Coordination) -> None:
    assert await coord.publish("session:1", {"n": 1}) == 0


async def test_messages_arrive_in_order_across_workers(pair: Pair) -> None:
    a, b = pair
    async with await a.subscribe("session:1") as sub:
        for n in range(50):
            assert await b.publish("session:1", {"n": n}) == 1
        received = [await sub.get(timeout=2) for _ in range(50)]
    assert received == [{"n": n} for n in range(50)]


async def test_concurrent_publishes_all_arrive_in_call_order(pair: Pair) -> None:
    # Redis sends concurrent publishes in one pipeline: none may be lost or reordered.
    a, b = pair
    async with await a.subscribe("session:1", "session:2") as sub:
        counts = await asyncio.gather(
            *(b.publish(f"session:{1 + n % 3}", {"n": n}) for n in range(90))
        )
        received = [await sub.get(timeout=2) for _ in range(60)]
    assert counts == [0 if n % 3 == 2 else 1 for n in range(90)]
    assert received == [{"n": n} for n in range(90) if n % 3 != 2]


async def test_publish_many_reaches_each_topic_and_counts_every_delivery(pair: Pair) -> None:
    a, b = pair
    async with (
        await a.subscribe("conversation:7") as thread,
        await b.subscribe("console") as console,
        await a.subscribe("conversation:8") as other,
    ):
        counts = await asyncio.gather(
            b.publish_many(("conversation:7", "console"), {"n": 1}),
            b.publish_many(("conversation:9", "console"), {"n": 2}),
            b.publish_many(("conversation:9",), {"n": 3}),
        )
        assert counts == [2, 1, 0]
        assert [await thread.get(timeout=2)] == [{"n": 1}]
        assert [await console.get(timeout=2) for _ in range(2)] == [{"n": 1}, {"n": 2}]
        assert await other.get(timeout=0.2) is None


async def test_messages_round_trip_as_json(pair: Pair) -> None:
    a, b = pair
    message = {"text": "¡Hola, 世界! 👋", "buttons": [{"id": "yes"}], "n": 1.5, "x": None}
    async with await a.subscribe("session:1") as sub:
        await b.publish("session:1", message)
        assert await sub.get(timeout=2) == message


async def test_several_subscribers_each_receive(pair: Pair) -> None:
    a, b = pair
    first, second = await a.subscribe("console"), await b.subscribe("console")
    # Receivers are endpoints: every subscription in-process, every worker on Redis.
    assert await a.publish("console", {"n": 1}) == 2
    third = await a.subscribe("console")
    assert 2 <= await b.publish("console", {"n": 2}) <= 3
    for sub in (first, second, third):
        expected = [{"n": 1}, {"n": 2}] if sub is not third else [{"n": 2}]
        assert [await sub.get(timeout=2) for _ in expected] == expected
        await sub.close()


async def test_topics_are_isolated(pair: Pair) -> None:
    a, b = pair
    async with await a.subscribe("session:1") as one, await a.subscribe("session:2") as two:
        await b.publish("session:2", {"to": 2})
        assert await two.get(timeout=2) == {"to": 2}
        assert await one.get(timeout=0.2) is None
        assert await b.publish("session:3", {"to": 3}) == 0


async def test_one_subscription_on_several_topics_keeps_order_per_topic(pair: Pair) -> None:
    a, b = pair
    async with await a.subscribe("t1", "t2") as sub:
        for n in range(5):
            await b.publish("t1", {"t": 1, "n": n})
            await b.publish("t2", {"t": 2, "n": n})
        received = [await sub.get(timeout=2) for _ in range(10)]
    for topic in (1, 2):
        assert [m["n"] for m in received if m and m["t"] == topic] == list(range(5))


async def test_close_stops_delivery_only_for_that_subscription(pair: Pair) -> None:
    a, b = pair
    stays, leaves = await a.subscribe("session:1"), await a.subscribe("session:1")
    await leaves.close()
    assert await b.publish("session:1", {"n": 1}) >= 1
    assert await stays.get(timeout=2) == {"n": 1}
    assert await leaves.get(timeout=0.2) is None
    await stays.close()
    assert await b.publish("session:1", {"n": 2}) == 0
    assert await stays.get(timeout=0.2) is None


async def test_get_times_out_with_none(coord: Coordination) -> None:
    async with await coord.subscribe("quiet") as sub:
        started = time.monotonic()
        assert await sub.get(timeout=0.15) is None
        assert time.monotonic() - started >= 0.14


# -- rate limits and pacing -----------------------------------------------------------------


async def test_hit_limit_is_shared(pair: Pair) -> None:
    a, b = pair
    assert [await (a if n % 2 else b).hit("ip:1", 3, 5) for n in range(3)] == [True] * 3
    assert not await a.hit("ip:1", 3, 5)
    assert not await b.hit("ip:1", 3, 5)
    assert await a.hit("ip:2", 3, 5)
    assert not await a.hit("ip:3", 0, 5)


async def test_hit_window_slides(pair: Pair) -> None:
    a, b = pair
    assert await a.hit("k", 2, 0.8)
    start = time.monotonic()  # after the call: the event is at most this old
    await sleep_until(start + 0.4)
    assert await b.hit("k", 2, 0.8)
    assert not await a.hit("k", 2, 0.8)
    await sleep_until(start + 1.0)  # the first event left the window, the second did not
    assert await b.hit("k", 2, 0.8)
    assert not await a.hit("k", 2, 0.8)


async def test_refused_hits_do_not_count(pair: Pair) -> None:
    a, b = pair
    assert await a.hit("k", 2, 0.8)
    assert await b.hit("k", 2, 0.8)
    start = time.monotonic()
    await sleep_until(start + 0.4)
    assert [await a.hit("k", 2, 0.8) for _ in range(3)] == [False] * 3
    await sleep_until(start + 0.95)  # the accepted events expired; the refused never counted
    assert await b.hit("k", 2, 0.8)
    assert await a.hit("k", 2, 0.8)
    assert not await b.hit("k", 2, 0.8)


async def test_reserve_paces_across_workers(pair: Pair) -> None:
    a, b = pair
    waits = [await (a if n % 2 else b).reserve("twilio:acct", 10) for n in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4], abs=0.03)
    assert await a.reserve("twilio:other", 10) == 0  # keys are independent
    await asyncio.sleep(0.6)  # every reserved slot is in the past: no wait
    assert await b.reserve("twilio:acct", 10) == pytest.approx(0.0, abs=0.03)


async def test_reserve_without_a_rate_never_waits(coord: Coordination) -> None:
    assert [await coord.reserve("k", 0) for _ in range(3)] == [0, 0, 0]
    assert await coord.reserve("k", -1) == 0


async def test_ping(coord: Coordination) -> None:
    assert await coord.ping()


# -- Redis only -----------------------------------------------------------------------------


async def test_redis_keys_are_prefixed_and_expire(
    redis_setup: tuple[str, RedisCoordination, RedisCoordination],
) -> None:
    prefix, a, _ = redis_setup
    await a.try_lock("k", "w1", 30)
    await a.claim("k", 30)
    await a.hit("k", 5, 30)
    await a.reserve("k", 0.1)
    async with Redis.from_url(REDIS_URL) as admin:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 4
        ttls = [await admin.pttl(key) for key in keys]
    # Each key lives for its window (the sliding log keeps 1 ms more, rounding up).
    assert all(0 < ttl <= 30_001 for ttl in ttls), ttls


async def test_locks_work_after_redis_forgets_its_scripts(
    redis_setup: tuple[str, RedisCoordination, RedisCoordination],
) -> None:
    """A restarted Redis has no scripts: batched lock calls load them again by themselves."""
    _prefix, a, b = redis_setup
    admin = Redis.from_url(REDIS_URL)
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()
    taken = await asyncio.gather(*(a.try_lock(f"conv:{n}", "w1", 5) for n in range(5)))
    assert taken == [True] * 5
    assert await asyncio.gather(b.try_lock("conv:0", "w2", 5), b.unlock("conv:0", "w2")) == [
        False,
        None,
    ]


async def test_many_subscriptions_share_one_connection(
    redis_setup: tuple[str, RedisCoordination, RedisCoordination],
) -> None:
    prefix, a, b = redis_setup
    subs = await asyncio.gather(*(a.subscribe(f"session:{n % 50}") for n in range(500)))
    async with Redis.from_url(REDIS_URL) as admin:
        assert len(await pubsub_client_ids(admin, prefix)) == 1
    assert await b.publish("session:7", {"n": 7}) == 1
    assert [await subs[n].get(timeout=2) for n in range(7, 500, 50)] == [{"n": 7}] * 10
    await asyncio.gather(*(sub.close() for sub in subs))
    assert await b.publish("session:7", {"n": 8}) == 0


async def test_subscriptions_recover_after_the_connection_is_killed(
    redis_setup: tuple[str, RedisCoordination, RedisCoordination],
) -> None:
    prefix, a, b = redis_setup
    one, two = await a.subscribe("session:1"), await a.subscribe("session:2")
    async with Redis.from_url(REDIS_URL) as admin:
        # Only this test's connection: CLIENT KILL TYPE pubsub would hit every user of the server.
        ids = await pubsub_client_ids(admin, prefix)
        assert len(ids) == 1
        await admin.execute_command("CLIENT", "KILL", "ID", ids[0])
        await publish_until_received(b, "session:1", one)
        assert await pubsub_client_ids(admin, prefix) not in ([], ids)
    later = await a.subscribe("session:2")  # made on the new link: nothing missed
    for n in range(5):  # every live topic was subscribed again, in order
        assert await b.publish("session:2", {"n": n}) == 1
    # What was published while the link was down is lost: one notice says so, before the
    # messages of the new link.
    assert [await two.get(timeout=2) for _ in range(6)] == [{"type": GAP}] + [
        {"n": n} for n in range(5)
    ]
    assert [await later.get(timeout=2) for _ in range(5)] == [{"n": n} for n in range(5)]
    assert await two.get(timeout=0.2) is None and await later.get(timeout=0.2) is None
    for sub in (one, two, later):
        await sub.close()


async def test_a_consumer_that_falls_too_far_behind_gets_a_gap_not_a_stale_backlog(
    redis_setup: tuple[str, RedisCoordination, RedisCoordination],
) -> None:
    _prefix, a, b = redis_setup
    slow = await a.subscribe("console")
    total = QUEUE_LIMIT + 3
    await asyncio.gather(*(b.publish("console", {"n": n}) for n in range(total)))
    for _ in range(100):  # nothing is read until the limit was passed
        if slow.dropped:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    received = []
    while (message := await slow.get(timeout=1)) is not None:
        received.append(message)
    # The backlog was dropped when it reached the limit; a notice stands in for it.
    assert received == [{"type": GAP}] + [{"n": n} for n in range(QUEUE_LIMIT, total)]
    await slow.close()


@asynccontextmanager
async def own_redis_server(port: int, workdir: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A private redis-server, so stopping it disturbs nobody else's tests."""
    process = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(workdir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with Redis(port=port) as probe:
            for _ in range(100):
                try:
                    await probe.ping()
                    break
                except Exception:
                    await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


@needs_redis
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server binary not found")
async def test_redis_down_raises_clearly_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    coord = RedisCoordination(f"redis://127.0.0.1:{port}/0", prefix="omnigate-test:")
    try:
        async with own_redis_server(port, tmp_path):
            sub = await coord.subscribe("session:1")
            assert await coord.claim("SM1", 60)
        assert not await coord.ping()
        with pytest.raises(CoordinationUnavailable, match="Redis unavailable"):
            await coord.claim("SM2", 60)
        with pytest.raises(ConnectionError):  # the builtin: callers need not import redis
            await coord.publish("session:1", {"n": 1})
        with pytest.raises(CoordinationUnavailable):
            await coord.subscribe("session:2")
        assert await sub.get(timeout=0.3) is None
        async with own_redis_server(port, tmp_path):
            assert await coord.ping()
            assert await coord.try_lock("conv:1", "w1", 5)
            await publish_until_received(coord, "session:1", sub)
            async with await coord.subscribe("session:2") as late:
                assert await coord.publish("session:2", {"n": 2}) == 1
                assert await late.get(timeout=2) == {"n": 2}
    finally:
        await coord.close()
