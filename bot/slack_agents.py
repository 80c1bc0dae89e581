"""Which agent a Slack user is: by the cached `agents.slack_user_id`, else by email
(`users.info` -> profile.email, needs the users:read.email scope), cached on the agent then."""

from __future__ import annotations

import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack import SlackApi, SlackError
from storage import agents as agent_store
from storage import slack as store
from storage.tables import AgentRow

log = logging.getLogger("omnigate.slack")


class SlackAgents:
    def __init__(
        self,
        api: SlackApi,
        sessions: async_sessionmaker[AsyncSession],
        *,
        unknown_ttl: float = 60.0,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._unknown_ttl = unknown_ttl
        # Slack users who are not agents, until when (their every message would ask Slack).
        self._unknown: dict[str, float] = {}

    async def resolve(self, slack_user_id: str) -> AgentRow | None:
        async with self._sessions() as session:
            agent = await agent_store.find_by_slack_user(session, slack_user_id)
        if agent is not None:
            return agent
        if self._unknown.get(slack_user_id, 0.0) > time.monotonic():
            return None
        try:
            email = await self._api.user_email(slack_user_id)
        except SlackError as exc:
            log.warning("slack users.info for %s failed: %s", slack_user_id, exc.code)
            return None
        if email:
            async with self._sessions() as session, session.begin():
                agent = await agent_store.find_by_email(session, email)
                if agent is not None:
                    await store.link_agent(session, agent.id, slack_user_id)
            if agent is not None:
                log.info("slack user %s is agent %s (by email)", slack_user_id, agent.id)
        if agent is None:
            if len(self._unknown) > 10_000:
                self._unknown.clear()
            self._unknown[slack_user_id] = time.monotonic() + self._unknown_ttl
        return agent
