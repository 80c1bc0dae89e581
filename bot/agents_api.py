"""REST API of agents and teams, canned responses, and the routes of the hand-off surface.

`add_routes(app, runtime)` registers everything agents use: this module's endpoints, the
conversation endpoints (bot/conversations_api.py) and the console WebSocket
(bot/console_ws.py).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot import console_ws, conversations_api
from bot.agent_auth import AgentAuth, hash_token, is_admin, json_body, new_token, path_id
from bot.api import error
from bot.canned import load_canned
from bot.handoff_rules import Forbidden, HandoffError, NotFound
from bot.handoff_views import agent_json
from bot.model import utcnow
from bot.runtime import Runtime
from storage import agents as agent_store
from storage.tables import AgentRow

ROLES = ("agent", "admin")
STATUSES = ("online", "away")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_TEAM = re.compile(r"^[\w .-]{1,100}$")


def add_routes(app: web.Application, runtime: Runtime) -> None:
    auth = AgentAuth(runtime)
    canned = load_canned()

    async def describe(agent: AgentRow) -> dict[str, Any]:
        async with runtime.sessions() as session:
            teams = await agent_store.teams_of(session, [agent.id])
            load = await agent_store.load_of(session, agent.id)
        return agent_json(agent, teams[agent.id], load)

    async def me(_request: web.Request, agent: AgentRow) -> web.Response:
        return web.json_response({**await describe(agent), "is_admin": is_admin(agent)})

    async def list_agents(_request: web.Request, _agent: AgentRow) -> web.Response:
        async with runtime.sessions() as session:
            rows = await agent_store.list_agents(session)
            ids = [row.id for row in rows]
            teams = await agent_store.teams_of(session, ids)
            loads = await agent_store.loads(session, ids)
        return web.json_response(
            {"agents": [agent_json(row, teams[row.id], loads[row.id]) for row in rows]}
        )

    async def create_agent(request: web.Request, _admin: AgentRow) -> web.Response:
        body = await json_body(request)
        fields = _agent_fields(body, creating=True)
        token = new_token()
        now = utcnow()
        async with runtime.sessions() as session, session.begin():
            agent = await agent_store.create_agent(
                session,
                name=fields["name"],
                email=fields["email"],
                role=fields.get("role", "agent"),
                status=fields.get("status", "away"),
                max_concurrent=fields.get("max_concurrent", 5),
                token_hash=hash_token(token),
                slack_user_id=fields.get("slack_user_id", ""),
                now=now,
            )
            if agent is None:
                return error(409, "email_taken", f"An agent with {fields['email']} exists.")
            await agent_store.set_agent_teams(session, agent.id, fields.get("teams", []), now)
        await _announce(runtime, agent)
        # The only time the token is shown: only its hash is stored.
        return web.json_response({**await describe(agent), "token": token}, status=201)

    async def update_agent(request: web.Request, caller: AgentRow) -> web.Response:
        agent_id = path_id(request)
        body = await json_body(request)
        fields = _agent_fields(body, creating=False)
        if not is_admin(caller) and (agent_id != caller.id or set(fields) - {"status"}):
            raise Forbidden("Agents may change their own status only.")
        now = utcnow()
        async with runtime.sessions() as session, session.begin():
            locked = await agent_store.lock_agents(session, [agent_id])
            if not locked:
                raise NotFound(f"No agent {agent_id}.")
            agent = locked[0]
            for name in ("name", "role", "status", "max_concurrent", "slack_user_id"):
                if name in fields:
                    setattr(agent, name, fields[name])
            agent.updated_at = now
            if "teams" in fields:
                await agent_store.set_agent_teams(session, agent.id, fields["teams"], now)
        await _announce(runtime, agent)
        if agent.status == "online":
            await runtime.handoff.offer_queue()  # room for the queue
        return web.json_response(await describe(agent))

    async def rotate_token(request: web.Request, caller: AgentRow) -> web.Response:
        agent_id = path_id(request)
        if not is_admin(caller) and agent_id != caller.id:
            raise Forbidden("Agents may renew their own token only.")
        token = new_token()
        async with runtime.sessions() as session, session.begin():
            agent = await agent_store.get_agent(session, agent_id)
            if agent is None or agent.email == agent_store.BUILTIN_ADMIN_EMAIL:
                raise NotFound(f"No agent {agent_id} with a token.")
            await agent_store.set_token_hash(session, agent.id, hash_token(token))
        return web.json_response({"id": agent_id, "token": token})

    async def list_teams(_request: web.Request, _agent: AgentRow) -> web.Response:
        async with runtime.sessions() as session:
            teams = await agent_store.list_teams(session)
        return web.json_response(
            {"teams": [{"name": team.name, "agent_ids": members} for team, members in teams]}
        )

    async def list_canned(_request: web.Request, _agent: AgentRow) -> web.Response:
        return web.json_response({"canned": canned})

    app.router.add_get("/api/v1/me", auth.required(me))
    app.router.add_get("/api/v1/agents", auth.required(list_agents))
    app.router.add_post("/api/v1/agents", auth.required(create_agent, admin=True))
    app.router.add_patch("/api/v1/agents/{id}", auth.required(update_agent))
    app.router.add_post("/api/v1/agents/{id}/token", auth.required(rotate_token))
    app.router.add_get("/api/v1/teams", auth.required(list_teams))
    app.router.add_get("/api/v1/canned", auth.required(list_canned))
    conversations_api.add_routes(app, runtime, auth)
    console_ws.add_routes(app, runtime, auth)


async def _announce(runtime: Runtime, agent: AgentRow) -> None:
    await runtime.events.publish({"type": "agent", "agent_id": agent.id, "status": agent.status})


def _agent_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validated agent fields of a POST (name and email required) or PATCH body."""
    known = {"name", "email", "role", "status", "max_concurrent", "teams", "slack_user_id"}
    if not creating:
        known.discard("email")
    unknown = set(body) - known
    if unknown:
        raise HandoffError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    fields: dict[str, Any] = {}
    if creating or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
            raise HandoffError("name: 1-200 characters.")
        fields["name"] = name.strip()
    if creating:
        email = body.get("email")
        if not isinstance(email, str) or len(email) > 320 or not _EMAIL.match(email.strip()):
            raise HandoffError("email: an email address.")
        fields["email"] = email.strip().lower()
    if "role" in body:
        if body["role"] not in ROLES:
            raise HandoffError("role: agent or admin.")
        fields["role"] = body["role"]
    if "status" in body:
        if body["status"] not in STATUSES:
            raise HandoffError("status: online or away.")
        fields["status"] = body["status"]
    if "max_concurrent" in body:
        value = body["max_concurrent"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise HandoffError("max_concurrent: an integer 0-100 (0: never auto-assigned).")
        fields["max_concurrent"] = value
    if "teams" in body:
        teams = body["teams"]
        if not isinstance(teams, list) or not all(
            isinstance(t, str) and _TEAM.match(t.strip()) for t in teams
        ):
            raise HandoffError("teams: a list of team names (letters, digits, space . _ -).")
        fields["teams"] = sorted({t.strip() for t in teams})
    if "slack_user_id" in body:
        slack = body["slack_user_id"]
        if not isinstance(slack, str) or len(slack) > 50:
            raise HandoffError("slack_user_id: a Slack user id.")
        fields["slack_user_id"] = slack
    return fields
