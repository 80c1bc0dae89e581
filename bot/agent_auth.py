"""Who is calling: the admin token (OMNIGATE_API_TOKEN) or an agent's own bearer token.

The admin token acts as a built-in agent row (role admin, never auto-assigned), so every
action and reply has an agent behind it in the transcript. Agents' tokens are stored as
sha256 hashes only; the token itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.api import error
from bot.handoff_rules import HandoffError, NotFound
from bot.model import utcnow
from bot.runtime import Runtime
from storage import agents as agent_store
from storage.tables import AgentRow

TOKEN_PREFIX = "oga_"

AgentHandler = Callable[[web.Request, AgentRow], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_admin(agent: AgentRow) -> bool:
    return agent.role == "admin"


class AgentAuth:
    def __init__(self, runtime: Runtime) -> None:
        # The runtime's sessions exist once it started: read them per request.
        self._runtime = runtime

    async def agent_for(self, token: str) -> AgentRow | None:
        if not token:
            return None
        admin_token = self._runtime.settings.api_token
        if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
            async with self._runtime.sessions() as session, session.begin():
                return await agent_store.builtin_admin(session, utcnow())
        if not token.startswith(TOKEN_PREFIX):
            return None
        async with self._runtime.sessions() as session:
            return await agent_store.find_by_token_hash(session, hash_token(token))

    def required(self, handler: AgentHandler, *, admin: bool = False) -> Handler:
        """Wrap a handler: 401 without a valid token, 403 for agents on admin endpoints;
        a refused hand-off action becomes its JSON error."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            given = request.headers.get("Authorization", "")
            token = given[7:].strip() if given.startswith("Bearer ") else ""
            agent = await self.agent_for(token)
            if agent is None:
                return error(401, "unauthorized", "Missing or wrong bearer token.")
            if admin and not is_admin(agent):
                return error(403, "forbidden", "Only an admin may do this.")
            try:
                return await handler(request, agent)
            except HandoffError as refused:
                return error(refused.status, refused.code, refused.message)

        return guarded


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); HandoffError (400) otherwise."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise HandoffError("The body must be JSON.") from exc
    if not isinstance(body, dict):
        raise HandoffError("The body must be a JSON object.")
    return body


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric id from the URL path; NotFound (404) for anything else."""
    value = request.match_info[name]
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"No such {name}: {value[:40]!r}.")
    return int(value)
