"""JSON shapes shared by the REST API, WebSocket clients and pub/sub events."""

from __future__ import annotations

from typing import Any

from storage.tables import ConversationRow, CustomerRow, IdentityRow, MessageRow


def message_json(row: MessageRow) -> dict[str, Any]:
    payload = row.payload or {}
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "customer_id": row.customer_id,
        "channel": row.channel,
        "direction": row.direction,
        "sender": row.sender,
        "kind": row.kind,
        "text": row.text,
        "buttons": payload.get("buttons", []),
        "media": row.media or [],
        "note": row.note,
        "created_at": row.created_at.isoformat(),
        "delivery_status": row.delivery_status or None,
        "error_code": row.error_code or None,
        "error_message": row.error_message or None,
        "segments": row.segments,
        "client_id": payload.get("client_id"),
    }


def identity_json(row: IdentityRow) -> dict[str, Any]:
    return {
        "channel": row.channel,
        "external_id": row.external_id,
        "verified": row.verified,
        "linked_by": row.link_reason,
        "display_name": row.display_name,
        "unreachable": row.unreachable,
        "opted_out_at": row.opted_out_at.isoformat() if row.opted_out_at else None,
        "last_inbound_at": row.last_inbound_at.isoformat() if row.last_inbound_at else None,
        "created_at": row.created_at.isoformat(),
    }


def customer_json(row: CustomerRow, identities: list[IdentityRow]) -> dict[str, Any]:
    return {
        "id": row.id,
        "display_name": row.display_name,
        "email": row.email or None,
        "phone": row.phone or None,
        "phone_verified": row.phone_verified,
        "email_verified": row.email_verified,
        "merged_into": row.merged_into,
        "erased": row.erased_at is not None,
        "created_at": row.created_at.isoformat(),
        "identities": [identity_json(i) for i in identities],
    }


def conversation_json(row: ConversationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "state": row.state,
        "handoff_reason": row.handoff_reason or None,
        "assignee_id": row.assignee_id,
        "last_channel": row.last_channel or None,
        "last_inbound": row.last_inbound or {},
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }
