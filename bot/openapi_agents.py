"""OpenAPI entries of the agents' API (merged into bot/openapi.py's document)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_TEXTS = {
    400: "Bad request",
    401: "Missing or wrong bearer token",
    403: "Not allowed for this agent",
    404: "Not found",
    409: "Illegal transition or conflict (the message says the current state)",
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(_ERROR, _TEXTS[code]) for code in codes}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(item)}}}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _action(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [_ID],
        "responses": {"200": _json(_ref("Conversation")), **_errors(400, 401, 403, 404, 409)},
    }
    if body:
        operation["requestBody"] = body
    return {"post": operation}


_AGENT_FIELDS = {
    "name": {"type": "string"},
    "role": {"type": "string", "enum": ["agent", "admin"]},
    "status": {"type": "string", "enum": ["online", "away"]},
    "max_concurrent": {"type": "integer", "minimum": 0, "maximum": 100},
    "teams": {"type": "array", "items": {"type": "string"}},
    "slack_user_id": {"type": "string"},
}
_TS = {"type": ["string", "null"], "format": "date-time"}

AGENT_PATHS: dict[str, Any] = {
    "/api/v1/me": {
        "get": {
            "summary": "The agent the bearer token belongs to (the admin token: built-in admin)",
            "responses": {"200": _json(_ref("Agent")), **_errors(401)},
        }
    },
    "/api/v1/agents": {
        "get": {
            "summary": "All agents with their teams, status and current load",
            "responses": {"200": _json(_list("agents", "Agent")), **_errors(401)},
        },
        "post": {
            "summary": "Create an agent (admin); the response's `token` is shown only once",
            "requestBody": _body(
                {**_AGENT_FIELDS, "email": {"type": "string", "format": "email"}},
                ["name", "email"],
            ),
            "responses": {
                "201": _json(
                    {
                        "allOf": [
                            _ref("Agent"),
                            {"type": "object", "properties": {"token": {"type": "string"}}},
                        ]
                    },
                    "Created",
                ),
                **_errors(400, 401, 403, 409),
            },
        },
    },
    "/api/v1/agents/{id}": {
        "patch": {
            "summary": "Change an agent (admin); agents may change their own status",
            "parameters": [_ID],
            "requestBody": _body(_AGENT_FIELDS),
            "responses": {"200": _json(_ref("Agent")), **_errors(400, 401, 403, 404)},
        }
    },
    "/api/v1/agents/{id}/token": {
        "post": {
            "summary": "A new bearer token for the agent (admin, or the agent itself)",
            "parameters": [_ID],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "token": {"type": "string"}},
                    }
                ),
                **_errors(401, 403, 404),
            },
        }
    },
    "/api/v1/teams": {
        "get": {
            "summary": "Teams and their members",
            "responses": {"200": _json({"type": "object"}), **_errors(401)},
        }
    },
    "/api/v1/canned": {
        "get": {
            "summary": "Canned responses (`/shortcut` expands to `text` in the console)",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "canned": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "shortcut": {"type": "string"},
                                        "text": {"type": "string"},
                                    },
                                },
                            }
                        },
                    }
                ),
                **_errors(401),
            },
        }
    },
    "/api/v1/conversations": {
        "get": {
            "summary": "Conversations: the queue (state=queued, longest waiting first), mine "
            "(assignee=me), …",
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["bot", "queued", "agent", "closed"]},
                },
                {
                    "name": "assignee",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "`me`, `none` or an agent id",
                },
                {"name": "team", "in": "query", "schema": {"type": "string"}},
                {"name": "customer_id", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
            ],
            "responses": {
                "200": _json(_list("conversations", "Conversation")),
                **_errors(400, 401),
            },
        }
    },
    "/api/v1/conversations/{id}": {
        "get": {
            "summary": "A conversation with its customer (identities, earlier conversations) "
            "and metrics",
            "parameters": [_ID],
            "responses": {"200": _json(_ref("Conversation")), **_errors(401, 404)},
        }
    },
    "/api/v1/conversations/{id}/messages": {
        "get": {
            "summary": "The thread, oldest first: notes and system entries included, each "
            "message's channel and delivery status",
            "parameters": [
                _ID,
                {"name": "after", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
            ],
            "responses": {"200": _json(_list("messages", "ThreadMessage")), **_errors(401, 404)},
        },
        "post": {
            "summary": "Write as the authenticated agent: a reply goes to the customer's current "
            "channel and claims the conversation if unclaimed; a note is never sent",
            "parameters": [_ID],
            "requestBody": _body(
                {
                    "text": {"type": "string", "maxLength": 4096},
                    "note": {"type": "boolean", "default": False},
                    "client_key": {
                        "type": "string",
                        "maxLength": 64,
                        "description": "Idempotency key: a repeat returns the first message",
                    },
                },
                ["text"],
            ),
            "responses": {
                "201": _json(_ref("ThreadMessage"), "Written"),
                **_errors(400, 401, 404, 409),
            },
        },
    },
    "/api/v1/conversations/{id}/handoff": _action(
        "Queue for a person (from bot; from agent: a transfer)",
        _body(
            {
                "reason": {
                    "type": "string",
                    "enum": [
                        "customer_request",
                        "bot_failed_twice",
                        "handler",
                        "agent_claimed",
                        "transfer",
                    ],
                },
                "team": {"type": "string"},
            }
        ),
    ),
    "/api/v1/conversations/{id}/claim": _action(
        "Take the conversation (admins may pass agent_id to assign someone else)",
        _body({"agent_id": {"type": "integer"}}),
    ),
    "/api/v1/conversations/{id}/release": _action("Hand the conversation back to the bot"),
    "/api/v1/conversations/{id}/close": _action(
        "Close; the customer is asked for a 1-5 rating unless csat is false",
        _body({"csat": {"type": "boolean", "default": True}}),
    ),
}

AGENT_SCHEMAS: dict[str, Any] = {
    "ThreadMessage": {
        "allOf": [
            _ref("Message"),
            {
                "type": "object",
                "properties": {
                    "note": {"type": "boolean", "description": "internal: never sent"},
                    "agent_id": {"type": ["integer", "null"]},
                    "agent_name": {"type": ["string", "null"]},
                    "event": {
                        "type": ["string", "null"],
                        "description": "system entries: queued, assigned, released, closed, "
                        "timeout, rated",
                    },
                    "texts": {
                        "type": ["object", "null"],
                        "additionalProperties": {"type": "string"},
                        "description": "system entries: the entry by language (en, tr); "
                        "`text` is the English one",
                    },
                },
            },
        ]
    },
    "Agent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            **_AGENT_FIELDS,
            "load": {"type": "integer", "description": "conversations the agent owns now"},
            "builtin": {"type": "boolean"},
            "is_admin": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "Conversation": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "customer_id": {"type": "integer"},
            "state": {"type": "string", "enum": ["bot", "queued", "agent", "closed"]},
            "handoff_reason": {"type": ["string", "null"]},
            "team": {"type": ["string", "null"]},
            "assignee_id": {"type": ["integer", "null"]},
            "assignee": {"type": ["object", "null"]},
            "last_channel": {"type": ["string", "null"]},
            "handed_off": {"type": "boolean"},
            "handed_off_at": _TS,
            "queued_at": _TS,
            "assigned_at": _TS,
            "first_agent_reply_at": _TS,
            "resolved_at": _TS,
            "closed_at": _TS,
            "csat": {
                "type": "object",
                "properties": {
                    "score": {"type": ["integer", "null"]},
                    "comment": {"type": ["string", "null"]},
                    "asked_at": _TS,
                },
            },
            "metrics": {
                "type": "object",
                "properties": {
                    "time_to_first_agent_reply_seconds": {"type": ["number", "null"]},
                    "resolution_seconds": {"type": ["number", "null"]},
                    "handed_off": {"type": "boolean"},
                },
            },
            "customer": {"type": "object"},
            "last_message": {"type": ["object", "null"]},
        },
    },
}
