"""REST API of conversations for agents: the queue, the thread, and hand-off actions.

Every action calls bot.handoff.HandoffService, the same code the console and Slack use.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agent_auth import AgentAuth, is_admin, json_body, path_id
from bot.conversation_info import agent_ref, conversation_detail, thread
from bot.handoff_rules import STATES, Forbidden, HandoffError, NotFound
from bot.handoff_views import handoff_conversation_json, thread_message_json
from bot.runtime import Runtime
from storage import agents as agent_store
from storage import handoff as queue
from storage.tables import AgentRow, ConversationRow

MAX_LIMIT = 500


def add_routes(app: web.Application, runtime: Runtime, auth: AgentAuth) -> None:
    async def list_conversations(request: web.Request, agent: AgentRow) -> web.Response:
        query = request.query
        state = query.get("state") or None
        if state is not None and state not in STATES:
            raise HandoffError(f"state: one of {', '.join(STATES)}.")
        assignee = query.get("assignee", "")
        assignee_id = agent.id if assignee == "me" else _number(assignee, "assignee")
        customer_id = _number(query.get("customer_id", ""), "customer_id")
        limit = min(_number(query.get("limit", ""), "limit") or 100, MAX_LIMIT)
        async with runtime.sessions() as session:
            rows = await queue.list_conversations(
                session,
                state=state,
                assignee_id=assignee_id,
                unassigned=assignee == "none",
                team=query.get("team"),
                customer_id=customer_id,
                limit=limit,
            )
            summaries = await _summaries(session, rows)
        return web.json_response({"conversations": summaries})

    async def get_conversation(request: web.Request, _agent: AgentRow) -> web.Response:
        conversation_id = path_id(request)
        async with runtime.sessions() as session:
            detail = await conversation_detail(session, conversation_id)
        if detail is None:
            raise NotFound(f"No conversation {conversation_id}.")
        return web.json_response(detail)

    async def get_thread(request: web.Request, _agent: AgentRow) -> web.Response:
        conversation_id = path_id(request)
        after = _number(request.query.get("after", ""), "after") or 0
        limit = min(_number(request.query.get("limit", ""), "limit") or MAX_LIMIT, MAX_LIMIT)
        async with runtime.sessions() as session:
            if await session.get(ConversationRow, conversation_id) is None:
                raise NotFound(f"No conversation {conversation_id}.")
            entries = await thread(session, conversation_id, after, limit)
        return web.json_response({"messages": entries})

    async def post_message(request: web.Request, agent: AgentRow) -> web.Response:
        body = await json_body(request)
        text, note = body.get("text"), body.get("note", False)
        client_key = body.get("client_key")
        if not isinstance(text, str) or not isinstance(note, bool):
            raise HandoffError('Send {"text": "...", "note": false}.')
        if client_key is not None and not isinstance(client_key, str):
            raise HandoffError("client_key must be a string.")
        row = await runtime.handoff.agent_reply(
            path_id(request), agent, text, note, via="api", client_key=client_key
        )
        return web.json_response(thread_message_json(row, {agent.id: agent.name}), status=201)

    async def handoff(request: web.Request, agent: AgentRow) -> web.Response:
        body = await json_body(request)
        reason, team = body.get("reason", "handler"), body.get("team")
        if not isinstance(reason, str) or not (team is None or isinstance(team, str)):
            raise HandoffError('Send {"reason": "...", "team": "..."}.')
        row = await runtime.handoff.handoff(
            path_id(request), reason=reason, team=team.strip() if team else None, actor=agent
        )
        return await _answer(row)

    async def claim(request: web.Request, agent: AgentRow) -> web.Response:
        body = await json_body(request)
        target = agent
        if body.get("agent_id") not in (None, agent.id):
            if not is_admin(agent):
                raise Forbidden("Only an admin may assign a conversation to someone else.")
            async with runtime.sessions() as session:
                found = await agent_store.get_agent(session, _number(body["agent_id"], "agent_id"))
            if found is None:
                raise NotFound(f"No agent {body['agent_id']}.")
            target = found
        row = await runtime.handoff.claim(path_id(request), target, by=agent)
        return await _answer(row)

    async def release(request: web.Request, agent: AgentRow) -> web.Response:
        return await _answer(await runtime.handoff.release(path_id(request), agent))

    async def close(request: web.Request, agent: AgentRow) -> web.Response:
        body = await json_body(request)
        ask = body.get("csat", True)
        if not isinstance(ask, bool):
            raise HandoffError("csat: true (ask the customer for a rating) or false.")
        return await _answer(await runtime.handoff.close(path_id(request), agent, ask_csat=ask))

    async def _answer(row: ConversationRow) -> web.Response:
        async with runtime.sessions() as session:
            assignee = await agent_store.get_agent(session, row.assignee_id or 0)
        return web.json_response(
            {**handoff_conversation_json(row), "assignee": agent_ref(assignee)}
        )

    base = "/api/v1/conversations"
    app.router.add_get(base, auth.required(list_conversations))
    app.router.add_get(base + "/{id}", auth.required(get_conversation))
    app.router.add_get(base + "/{id}/messages", auth.required(get_thread))
    app.router.add_post(base + "/{id}/messages", auth.required(post_message))
    app.router.add_post(base + "/{id}/handoff", auth.required(handoff))
    app.router.add_post(base + "/{id}/claim", auth.required(claim))
    app.router.add_post(base + "/{id}/release", auth.required(release))
    app.router.add_post(base + "/{id}/close", auth.required(close))


def _number(value: Any, name: str) -> int | None:
    """An optional non-negative integer parameter; HandoffError (400) when malformed."""
    if value in ("", None, "none"):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    raise HandoffError(f"{name}: a number.")


async def _summaries(session: AsyncSession, rows: list[ConversationRow]) -> list[dict[str, Any]]:
    """List items: the conversation, who it is, who has it, and the latest message."""
    ids = [row.id for row in rows]
    last = await queue.last_messages(session, ids)
    people = await queue.customers_by_id(session, [row.customer_id for row in rows])
    names = {a.id: a.name for a in await agent_store.list_agents(session)}
    items = []
    for row in rows:
        customer = people.get(row.customer_id)
        message = last.get(row.id)
        items.append(
            {
                **handoff_conversation_json(row),
                "customer": {
                    "id": row.customer_id,
                    "display_name": customer.display_name if customer else "",
                },
                "assignee": (
                    {"id": row.assignee_id, "name": names.get(row.assignee_id, "")}
                    if row.assignee_id
                    else None
                ),
                "last_message": (
                    {
                        "id": message.id,
                        "sender": message.sender,
                        "channel": message.channel,
                        "text": message.text[:200],
                        "texts": (message.payload or {}).get("texts")
                        if message.sender == "system"
                        else None,
                        "note": message.note,
                        "created_at": message.created_at.isoformat(),
                    }
                    if message
                    else None
                ),
            }
        )
    return items
