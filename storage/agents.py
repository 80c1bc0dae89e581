"""Agents, teams and agents' workloads (how many conversations each one owns)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from storage.dialect import insert_ignoring_conflicts, is_postgres
from storage.tables import AgentRow, AgentTeamRow, ConversationRow, TeamRow

# The built-in agent the admin token (OMNIGATE_API_TOKEN) acts as; `.invalid` never routes.
BUILTIN_ADMIN_EMAIL = "admin@omnigate.invalid"


async def get_agent(session: AsyncSession, agent_id: int) -> AgentRow | None:
    return await session.get(AgentRow, agent_id)


async def find_by_token_hash(session: AsyncSession, token_hash: str) -> AgentRow | None:
    return await session.scalar(select(AgentRow).where(AgentRow.token_hash == token_hash))


async def find_by_email(session: AsyncSession, email: str) -> AgentRow | None:
    return await session.scalar(select(AgentRow).where(AgentRow.email == email.strip().lower()))


async def find_by_slack_user(session: AsyncSession, slack_user_id: str) -> AgentRow | None:
    if not slack_user_id:
        return None
    return await session.scalar(select(AgentRow).where(AgentRow.slack_user_id == slack_user_id))


async def list_agents(session: AsyncSession) -> list[AgentRow]:
    return list(await session.scalars(select(AgentRow).order_by(AgentRow.id)))


async def create_agent(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    role: str,
    status: str,
    max_concurrent: int,
    token_hash: str | None,
    slack_user_id: str = "",
    now: datetime,
) -> AgentRow | None:
    """The new agent, or None when the email is taken."""
    result = await session.execute(
        insert_ignoring_conflicts(session, AgentRow)
        .values(
            name=name,
            email=email.strip().lower(),
            role=role,
            status=status,
            max_concurrent=max_concurrent,
            token_hash=token_hash,
            slack_user_id=slack_user_id,
            created_at=now,
            updated_at=now,
        )
        .returning(AgentRow.id)
    )
    agent_id = result.scalar()
    return None if agent_id is None else await session.get(AgentRow, agent_id)


async def builtin_admin(session: AsyncSession, now: datetime) -> AgentRow:
    """The admin token's agent row, created on first use (any worker, any number of times)."""
    found = await find_by_email(session, BUILTIN_ADMIN_EMAIL)
    if found is not None:
        return found
    await create_agent(
        session,
        name="Admin",
        email=BUILTIN_ADMIN_EMAIL,
        role="admin",
        status="away",  # never picked by automatic assignment
        max_concurrent=0,
        token_hash=None,
        now=now,
    )
    found = await find_by_email(session, BUILTIN_ADMIN_EMAIL)
    assert found is not None
    return found


async def lock_agents(session: AsyncSession, agent_ids: list[int]) -> list[AgentRow]:
    """Read agents for update, in id order: their assignments are counted one at a time."""
    query = select(AgentRow).where(AgentRow.id.in_(agent_ids)).order_by(AgentRow.id)
    if is_postgres(session):
        query = query.with_for_update()
    return list((await session.execute(query.execution_options(populate_existing=True))).scalars())


async def set_token_hash(session: AsyncSession, agent_id: int, token_hash: str) -> None:
    await session.execute(
        update(AgentRow).where(AgentRow.id == agent_id).values(token_hash=token_hash)
    )


# -- teams ---------------------------------------------------------------------------------


async def ensure_teams(session: AsyncSession, names: list[str], now: datetime) -> list[TeamRow]:
    if not names:
        return []
    for name in names:
        await session.execute(
            insert_ignoring_conflicts(session, TeamRow).values(name=name, created_at=now)
        )
    return list(await session.scalars(select(TeamRow).where(TeamRow.name.in_(names))))


async def set_agent_teams(
    session: AsyncSession, agent_id: int, names: list[str], now: datetime
) -> None:
    teams = await ensure_teams(session, names, now)
    await session.execute(delete(AgentTeamRow).where(AgentTeamRow.agent_id == agent_id))
    for team in teams:
        session.add(AgentTeamRow(agent_id=agent_id, team_id=team.id))
    await session.flush()


async def teams_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(AgentTeamRow.agent_id, TeamRow.name)
        .join(TeamRow, TeamRow.id == AgentTeamRow.team_id)
        .where(AgentTeamRow.agent_id.in_(agent_ids))
        .order_by(TeamRow.name)
    )
    found: dict[int, list[str]] = {agent_id: [] for agent_id in agent_ids}
    for agent_id, name in rows:
        found[agent_id].append(name)
    return found


async def list_teams(session: AsyncSession) -> list[tuple[TeamRow, list[int]]]:
    teams = list(await session.scalars(select(TeamRow).order_by(TeamRow.name)))
    members = await session.execute(select(AgentTeamRow.team_id, AgentTeamRow.agent_id))
    by_team: dict[int, list[int]] = {}
    for team_id, agent_id in members:
        by_team.setdefault(team_id, []).append(agent_id)
    return [(team, sorted(by_team.get(team.id, []))) for team in teams]


# -- workloads -----------------------------------------------------------------------------


def _load_query() -> ScalarSelect[int]:
    """How many conversations the agent of the outer query owns now."""
    return (
        select(func.count(ConversationRow.id))
        .where(ConversationRow.assignee_id == AgentRow.id, ConversationRow.state == "agent")
        .correlate(AgentRow)
        .scalar_subquery()
    )


async def loads(session: AsyncSession, agent_ids: list[int]) -> dict[int, int]:
    """Conversations each agent owns now."""
    rows = await session.execute(
        select(ConversationRow.assignee_id, func.count(ConversationRow.id))
        .where(ConversationRow.state == "agent", ConversationRow.assignee_id.in_(agent_ids))
        .group_by(ConversationRow.assignee_id)
    )
    found = dict.fromkeys(agent_ids, 0)
    for agent_id, count in rows:
        found[int(agent_id)] = int(count)
    return found


async def load_of(session: AsyncSession, agent_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(ConversationRow.id)).where(
                ConversationRow.state == "agent", ConversationRow.assignee_id == agent_id
            )
        )
        or 0
    )


async def candidates(session: AsyncSession, team: str) -> list[tuple[AgentRow, int]]:
    """Online agents with room for one more conversation, least busy first.

    `team` empty: any online agent; otherwise only that team's members.
    """
    load = _load_query()
    query = select(AgentRow, load).where(AgentRow.status == "online", AgentRow.max_concurrent > 0)
    if team:
        query = query.join(AgentTeamRow, AgentTeamRow.agent_id == AgentRow.id).join(
            TeamRow, (TeamRow.id == AgentTeamRow.team_id) & (TeamRow.name == team)
        )
    rows = await session.execute(query.order_by(load, AgentRow.id))
    return [(agent, int(count)) for agent, count in rows if count < agent.max_concurrent]
