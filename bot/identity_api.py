"""REST endpoints of the unified customer: link codes, merge / undo, duplicates, export, erase."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api import Guard, error, read_json, to_int
from bot.duplicates import suggestions
from bot.identity_actions import LinkUnavailable
from bot.model import utcnow
from bot.runtime import Runtime
from bot.views import conversation_json, customer_json, identity_json, message_json
from storage import customers, links, merges, messages, privacy
from storage.tables import CustomerRow, MergeRow


def merge_json(row: MergeRow) -> dict[str, Any]:
    moved = row.moved
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "other_id": row.other_id,
        "reason": row.reason,
        "actor": row.actor,
        "moved": {
            key: len(moved.get(key, [])) for key in ("identities", "conversations", "messages")
        },
        "created_at": row.created_at.isoformat(),
        "undone_at": row.undone_at.isoformat() if row.undone_at else None,
    }


def add_routes(app: web.Application, runtime: Runtime, auth: Guard) -> None:
    async def live_customer(session: Any, request: web.Request) -> CustomerRow | web.Response:
        customer_id = to_int(request.match_info["id"])
        customer = await customers.get_customer(session, customer_id) if customer_id else None
        if customer is None or customer.erased_at is not None:
            return error(404, "not_found", "No such customer.")
        if customer.merged_into is not None:
            return error(409, "merged", f"Customer was merged into {customer.merged_into}.")
        return customer

    async def link_codes(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        channel = body.get("channel")
        if channel not in ("telegram", "whatsapp"):
            return error(400, "bad_channel", 'channel must be "telegram" or "whatsapp".')
        async with runtime.sessions() as session:
            customer = await live_customer(session, request)
            if isinstance(customer, web.Response):
                return customer
        try:
            link = await runtime.identity_actions.create_link_code(customer.id, channel)
        except LinkUnavailable as exc:
            return error(409, "channel_not_configured", str(exc))
        return web.json_response(link, status=201)

    async def merge(request: web.Request) -> web.Response:
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        other_id = body.get("other_id")
        if not isinstance(other_id, int):
            return error(400, "bad_request", "other_id (integer) is required.")
        now = utcnow()
        try:
            async with runtime.sessions() as session, session.begin():
                customer = await live_customer(session, request)
                if isinstance(customer, web.Response):
                    return customer
                record = await merges.merge(
                    session,
                    customer.id,
                    other_id,
                    reason="manual",
                    actor=auth.actor(request),
                    now=now,
                )
                links.audit(
                    session,
                    "merge",
                    customer.id,
                    now,
                    other_id=other_id,
                    reason="manual",
                    merge_id=record.id,
                    actor=auth.actor(request),
                )
                result = merge_json(record)
        except merges.MergeError as exc:
            return error(exc.status, "merge_refused", exc.reason)
        await runtime.turns.sweep()
        return web.json_response(result, status=201)

    async def undo(request: web.Request) -> web.Response:
        merge_id = to_int(request.match_info["merge_id"])
        if merge_id is None:
            return error(404, "not_found", "No such merge.")
        now = utcnow()
        try:
            async with runtime.sessions() as session, session.begin():
                record = await merges.undo(session, merge_id, now)
                links.audit(
                    session,
                    "merge_undone",
                    record.customer_id,
                    now,
                    other_id=record.other_id,
                    merge_id=record.id,
                    actor=auth.actor(request),
                )
                result = merge_json(record)
        except merges.MergeError as exc:
            return error(exc.status, "undo_refused", exc.reason)
        await runtime.turns.sweep()
        return web.json_response(result)

    async def duplicates(request: web.Request) -> web.Response:
        async with runtime.sessions() as session:
            customer = await live_customer(session, request)
            if isinstance(customer, web.Response):
                return customer
            found = await suggestions(session, customer)
        return web.json_response({"customer_id": customer.id, "suggestions": found})

    async def export(request: web.Request) -> web.Response:
        now = utcnow()
        async with runtime.sessions() as session, session.begin():
            customer = await live_customer(session, request)
            if isinstance(customer, web.Response):
                return customer
            identities = await customers.identities_of(session, customer.id)
            threads = await privacy.conversations_of(session, customer.id)
            history = await messages.messages_of_customer(session, customer.id, 0, 1_000_000)
            merge_rows = await privacy.merges_of(session, customer.id)
            audit_rows = await privacy.audit_of(session, customer.id)
            links.audit(session, "export", customer.id, now, actor=auth.actor(request))
        document = {
            "exported_at": now.isoformat(),
            "customer": customer_json(customer, identities),
            "identities": [identity_json(i) for i in identities],
            "conversations": [{**conversation_json(c), "dialog": c.dialog} for c in threads],
            "messages": [message_json(m) for m in history],
            "merges": [merge_json(m) for m in merge_rows],
            "audit": [
                {
                    "action": a.action,
                    "actor": a.actor,
                    "detail": a.detail,
                    "created_at": a.created_at.isoformat(),
                }
                for a in audit_rows
            ],
        }
        return web.json_response(
            document,
            headers={"Content-Disposition": f'attachment; filename="customer-{customer.id}.json"'},
        )

    async def erase(request: web.Request) -> web.Response:
        now = utcnow()
        async with runtime.sessions() as session, session.begin():
            customer = await live_customer(session, request)
            if isinstance(customer, web.Response):
                return customer
            counts = await privacy.erase(session, customer.id, now)
            links.audit(session, "erase", customer.id, now, actor=auth.actor(request), **counts)
        return web.json_response({"customer_id": customer.id, "erased": counts})

    app.router.add_post("/api/v1/customers/{id}/link-codes", auth(link_codes))
    app.router.add_post("/api/v1/customers/{id}/merge", auth(merge))
    app.router.add_post("/api/v1/merges/{merge_id}/undo", auth(undo))
    app.router.add_get("/api/v1/customers/{id}/duplicates", auth(duplicates))
    app.router.add_get("/api/v1/customers/{id}/export", auth(export))
    app.router.add_delete("/api/v1/customers/{id}", auth(erase))
