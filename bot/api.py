"""REST API (JSON, bearer token). The OpenAPI document lives in bot/openapi.py."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.openapi import OPENAPI
from bot.runtime import Runtime
from bot.views import customer_json, message_json
from storage import customers, messages

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CHANNELS = ("webchat", "sms", "whatsapp", "telegram")


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


ACTOR = web.RequestKey("actor", str)


class Guard:
    """Bearer-token authentication for API handlers: `@auth` wraps a handler.

    The admin's token is OMNIGATE_API_TOKEN; `request["actor"]` names who is calling, for the
    audit log.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def __call__(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            expected = self._runtime.settings.api_token
            given = request.headers.get("Authorization", "")
            if not expected:
                return error(401, "unauthorized", "Set OMNIGATE_API_TOKEN to use the API.")
            if not given.startswith("Bearer ") or not hmac.compare_digest(
                given[7:].encode(), expected.encode()
            ):
                return error(401, "unauthorized", "Missing or wrong bearer token.")
            request[ACTOR] = "admin"
            return await handler(request)

        return guarded

    @staticmethod
    def actor(request: web.Request) -> str:
        return request.get(ACTOR, "")


async def read_json(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object, or a 400 response saying what is wrong."""
    try:
        body = await request.json()
    except ValueError:
        return error(400, "bad_json", "The body must be a JSON object.")
    if not isinstance(body, dict):
        return error(400, "bad_json", "The body must be a JSON object.")
    return body


def to_int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def add_routes(app: web.Application, runtime: Runtime) -> None:
    auth = Guard(runtime)

    async def find_customer(request: web.Request) -> web.Response:
        identity = request.query.get("identity", "")
        channel, _, external_id = identity.partition(":")
        if channel in ("sms", "whatsapp") and external_id.startswith(" "):
            # `?identity=sms:+90555…` as typed: a query string decodes "+" as a space.
            external_id = "+" + external_id[1:]
        if channel not in CHANNELS or not external_id:
            return error(
                400,
                "bad_identity",
                "Use ?identity=<channel>:<external_id>, e.g. sms:+905551112233.",
            )
        async with runtime.sessions() as session:
            found = await customers.find_identity(session, channel, external_id)
            if found is None:
                return error(404, "not_found", "No customer has that identity.")
            customer = await customers.get_customer(session, found.customer_id)
            assert customer is not None
            identities = await customers.identities_of(session, customer.id)
        return web.json_response(customer_json(customer, identities))

    async def get_customer(request: web.Request) -> web.Response:
        customer_id = to_int(request.match_info["id"])
        async with runtime.sessions() as session:
            customer = await customers.get_customer(session, customer_id) if customer_id else None
            if customer is None:
                return error(404, "not_found", "No such customer.")
            if customer.erased_at is not None:
                return error(410, "erased", "This customer's data was erased.")
            identities = await customers.identities_of(session, customer.id)
        return web.json_response(customer_json(customer, identities))

    async def customer_messages(request: web.Request) -> web.Response:
        customer_id = to_int(request.match_info["id"])
        after = to_int(request.query.get("after", "0")) or 0
        limit = min(to_int(request.query.get("limit", "500")) or 500, 1000)
        async with runtime.sessions() as session:
            customer = await customers.get_customer(session, customer_id) if customer_id else None
            if customer is None:
                return error(404, "not_found", "No such customer.")
            rows = await messages.messages_of_customer(session, customer.id, after, limit)
        return web.json_response({"messages": [message_json(r) for r in rows]})

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/customers", auth(find_customer))
    app.router.add_get("/api/v1/customers/{id}", auth(get_customer))
    app.router.add_get("/api/v1/customers/{id}/messages", auth(customer_messages))

    from bot import identity_api

    identity_api.add_routes(app, runtime, auth)
