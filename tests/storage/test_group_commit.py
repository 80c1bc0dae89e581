"""Group commit shares transactions between callers and isolates a failing caller."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.group_commit import GroupCommitter
from bot.model import utcnow
from storage.database import create_engine, session_factory
from storage.migrate import migrate
from storage.tables import KeyValue


async def test_concurrent_writes_commit_together_and_a_bad_one_fails_alone(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    transactions: list[int] = []

    async def apply(session: AsyncSession, key: str) -> str:
        transactions.append(id(session))
        if key == "bad":
            raise ValueError("refused")
        session.add(KeyValue(key=key, value=utcnow().isoformat()))
        await session.flush()
        return key

    committer: GroupCommitter[str, str] = GroupCommitter(sessions, apply, writers=1)
    committer.start()
    keys = [f"k{i}" for i in range(50)]
    results = await asyncio.gather(
        *(committer.submit(k) for k in [*keys[:25], "bad", *keys[25:]]), return_exceptions=True
    )
    await committer.stop()
    assert [r for r in results if isinstance(r, str)] == keys
    (failure,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(failure, ValueError)
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(KeyValue).where(KeyValue.key.like("k%"))
        )
    assert stored == 50  # the good ones were retried alone and committed
    assert len(set(transactions)) < len(transactions)  # some calls shared a session
    await engine.dispose()
