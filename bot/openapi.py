"""The REST API's OpenAPI 3.1 document."""

from __future__ import annotations

from typing import Any

from bot.openapi_agents import AGENT_PATHS, AGENT_SCHEMAS

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "Bad request", 401: "Missing or wrong bearer token", 404: "Not found"}
    return {str(code): _json(_ERROR, texts[code]) for code in codes}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Omnigate API", "version": "1"},
    "security": [{"bearer": []}],
    "paths": {
        **AGENT_PATHS,  # agents, conversations and hand-off (bot/openapi_agents.py)
        "/api/v1/customers": {
            "get": {
                "summary": "Find a customer by one of their identities",
                "parameters": [
                    {
                        "name": "identity",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "example": "sms:+905551112233"},
                        "description": "<channel>:<external id>; channels: webchat, sms, "
                        "whatsapp, telegram; phone ids are E.164 with +.",
                    }
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Customer"}),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/api/v1/customers/{id}": {
            "get": {
                "summary": "A customer with their identities",
                "parameters": [_ID],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Customer"}),
                    **_errors(401, 404),
                },
            }
        },
        "/api/v1/customers/{id}/messages": {
            "get": {
                "summary": "The customer's transcript across all channels, oldest first",
                "parameters": [
                    _ID,
                    {"name": "after", "in": "query", "schema": {"type": "integer"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "maximum": 1000},
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "messages": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Message"},
                                }
                            },
                        }
                    ),
                    **_errors(401, 404),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            **AGENT_SCHEMAS,
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                "required": ["error", "message"],
            },
            "Identity": {
                "type": "object",
                "properties": {
                    "channel": {"type": "string"},
                    "external_id": {"type": "string"},
                    "verified": {"type": "boolean"},
                    "linked_by": {"type": "string"},
                    "display_name": {"type": "string"},
                    "unreachable": {"type": "boolean"},
                    "opted_out_at": {"type": ["string", "null"], "format": "date-time"},
                    "last_inbound_at": {"type": ["string", "null"], "format": "date-time"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "Customer": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "display_name": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "identities": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Identity"},
                    },
                },
            },
            "Message": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "conversation_id": {"type": "integer"},
                    "customer_id": {"type": "integer"},
                    "channel": {
                        "type": "string",
                        "enum": ["webchat", "sms", "whatsapp", "telegram"],
                    },
                    "direction": {"type": "string", "enum": ["in", "out"]},
                    "sender": {"type": "string", "enum": ["customer", "bot", "agent", "system"]},
                    "kind": {"type": "string"},
                    "text": {"type": "string"},
                    "buttons": {"type": "array", "items": {"type": "object"}},
                    "media": {"type": "array", "items": {"type": "object"}},
                    "created_at": {"type": "string", "format": "date-time"},
                    "delivery_status": {"type": ["string", "null"]},
                    "error_code": {"type": ["string", "null"]},
                    "error_message": {"type": ["string", "null"]},
                    "segments": {"type": ["integer", "null"]},
                },
            },
        },
    },
}
