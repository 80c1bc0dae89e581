"""Slack's limits: about one post per second per channel (paced, never refused), 429 with
Retry-After (waited for, then sent), and a slow Web API (Slack still gets its acknowledgement
within its 3 s; the work happens after)."""

from __future__ import annotations

import time
from itertools import pairwise

from adapters.fakes import FakeSlack
from tests.channels.stack import eventually
from tests.handoff.helpers import create_agent, wait_state
from tests.slack.stack import AGENT_EMAIL, AGENT_USER, slack_stack


async def test_a_429_is_waited_out(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        s.slack.fail_next(1, status=429, retry_after=1)
        asked = time.time()
        await s.customer_says("canlı destek")
        await eventually(lambda: len(s.slack.roots()) == 1, what="the thread after the 429")
        posts = [c.status for c in s.slack.calls if c.path == "/api/chat.postMessage"]
        assert posts == [429, 200]
        assert s.slack.roots()[0]["posted_at"] - asked >= 0.9  # Retry-After: 1


async def test_posts_are_paced_per_channel(sqlite_url: str) -> None:
    strict = FakeSlack(post_interval=0.9)  # refuses a second post in a channel within 0.9 s
    async with slack_stack(sqlite_url, slack=strict) as s:
        _, root = await s.customer_asks_for_a_person()
        for text in ("birinci", "ikinci", "üçüncü"):
            await s.customer_says(text)
        await eventually(lambda: len(s.slack.thread(root["ts"])) == 3, timeout=15.0)
        assert [m["text"].split(": ", 1)[1] for m in s.slack.thread(root["ts"])] == [
            "birinci",
            "ikinci",
            "üçüncü",
        ]
        assert s.slack.rate_limited == 0
        times = [m["posted_at"] for m in s.slack.posts()]
        assert all(b - a >= 0.9 for a, b in pairwise(times)), times


async def test_slow_slack_api_does_not_delay_the_acknowledgement(sqlite_url: str) -> None:
    async with slack_stack(sqlite_url) as s:
        await create_agent(s.gw, "Mehmet", email=AGENT_EMAIL)
        s.slack.add_user(AGENT_USER, AGENT_EMAIL, "Mehmet Demir")
        cid, root = await s.customer_asks_for_a_person()
        s.slack.hang_next()  # the agent lookup (users.info) hangs; our client gives up at 2 s
        started = time.monotonic()
        answer, _ = await s.slack.user_replies(AGENT_USER, root["ts"], "Hemen bakıyorum.")
        took = time.monotonic() - started
        assert answer.status == 200
        assert took < 3.0, took  # Slack's deadline; it is milliseconds in fact
        assert len(s.sent()) == 1  # not yet: the work runs after the acknowledgement
        await eventually(lambda: len(s.sent()) == 2, timeout=10.0, what="the reply after retry")
        assert s.sent()[1]["text"] == "Hemen bakıyorum."
        await wait_state(s.gw, cid, "agent")
