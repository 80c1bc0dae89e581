"""JSON shapes of agents and hand-off conversations (REST API, console WebSocket)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.views import conversation_json, message_json
from storage.agents import BUILTIN_ADMIN_EMAIL
from storage.tables import AgentRow, ConversationRow, MessageRow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def agent_json(agent: AgentRow, teams: list[str], load: int) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role,
        "status": agent.status,
        "max_concurrent": agent.max_concurrent,
        "teams": teams,
        "slack_user_id": agent.slack_user_id or None,
        "load": load,
        "builtin": agent.email == BUILTIN_ADMIN_EMAIL,
        "created_at": agent.created_at.isoformat(),
    }


def handoff_conversation_json(row: ConversationRow) -> dict[str, Any]:
    """The conversation with its hand-off facts and per-conversation metrics."""
    return {
        **conversation_json(row),
        "team": row.team or None,
        "handed_off": row.handed_off,
        "handed_off_at": _iso(row.handed_off_at),
        "queued_at": _iso(row.queued_at),
        "assigned_at": _iso(row.assigned_at),
        "first_agent_reply_at": _iso(row.first_agent_reply_at),
        "resolved_at": _iso(row.resolved_at),
        "csat": {
            "score": row.csat_score,
            "comment": row.csat_comment or None,
            "asked_at": _iso(row.csat_asked_at),
        },
        "metrics": {
            # From the first hand-off to the first agent reply.
            "time_to_first_agent_reply_seconds": _seconds(
                row.handed_off_at, row.first_agent_reply_at
            ),
            # From the conversation's start to its resolution (close by an agent).
            "resolution_seconds": _seconds(row.created_at, row.resolved_at),
            # False for a conversation the bot handled alone (containment).
            "handed_off": row.handed_off,
        },
    }


def thread_message_json(row: MessageRow, agent_names: dict[int, str]) -> dict[str, Any]:
    """A transcript entry as agents see it: notes and system entries included."""
    return {
        **message_json(row),
        "agent_id": row.agent_id,
        "agent_name": agent_names.get(row.agent_id) if row.agent_id else None,
        "event": (row.payload or {}).get("event") if row.sender == "system" else None,
        # A system entry in each console language (older entries have only `text`).
        "texts": (row.payload or {}).get("texts") if row.sender == "system" else None,
    }
