"""A fake Meta Graph API for WhatsApp Cloud: a real HTTP server answering like graph.facebook.com.

    fake = FakeGraph(token, app_secret=secret, webhook_url=gateway + "/webhooks/whatsapp")
    base_url = await fake.start()           # OMNIGATE_WHATSAPP_API_URL
    fake.fail_next(1, status=429, code=130429)

It checks the bearer token (401 / 190 otherwise) and the message shape (error 100 / 131009 as
Meta does), answers `{"messaging_product", "contacts", "messages": [{"id": "wamid.…"}]}`, and
with `status_callbacks=True` posts signed `statuses` webhooks (sent, delivered, read) to
`webhook_url`. Recipients in `closed_window` get free-form messages accepted and then failed
with 131047, as Meta reports a closed 24 h window.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from adapters.fakes.common import Failure, FakeServer, RecordedCall
from adapters.fakes.graph_webhooks import (
    new_wamid,
    send_meta_webhook,
    whatsapp_payload,
    whatsapp_status,
)

TYPES = ("text", "image", "audio", "video", "document", "sticker", "location", "contacts")
TYPES += ("interactive", "template", "reaction")
ERRORS = {
    1: "An unknown error has occurred.",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    130429: "(#130429) Rate limit hit",
    131000: "(#131000) Something went wrong",
    131009: "(#131009) Parameter value is not valid",
    131047: "(#131047) Re-engagement message",
}
REENGAGEMENT_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def error_body(code: int, message: str = "", details: str = "") -> dict[str, Any]:
    """Graph's error shape."""
    error: dict[str, Any] = {
        "message": message or ERRORS.get(code, "(#100) Invalid parameter"),
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(11),
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class FakeGraph(FakeServer):
    def __init__(
        self,
        token: str,
        *,
        phone_number_id: str | None = None,
        app_secret: str = "",
        webhook_url: str = "",
        status_callbacks: bool = False,
        callback_delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id  # None: any id is ours
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.status_callbacks = status_callbacks
        self.callback_delay = callback_delay
        self.closed_window: set[str] = set()  # wa_ids whose 24 h window is closed
        self.callbacks: list[tuple[dict[str, Any], int]] = []
        # Every message accepted, by the wamid the fake issued (the request's JSON body).
        self.messages: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{version}/{phone_number_id}/messages", self._messages)]

    def sent(self) -> list[RecordedCall]:
        return [c for c in self.calls if c.status == 200]

    def _answer(self, call: RecordedCall, status: int, body: Any, **headers: str) -> web.Response:
        call.status = status
        return web.json_response(body, status=status, headers=headers or None)

    async def _fail(self, call: RecordedCall, failure: Failure) -> web.Response:
        if failure.hang:
            await self.hang()
            return self._answer(call, 504, error_body(1))
        code = failure.code or (130429 if failure.status == 429 else 131000)
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        details = REENGAGEMENT_DETAILS if code == 131047 else ""
        body = error_body(code, failure.message, details)
        return self._answer(call, failure.status, body, **headers)

    async def _messages(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return self._answer(call, 401, error_body(190))
        failure = self.take_failure()
        if failure is not None:
            return await self._fail(call, failure)
        number = request.match_info["phone_number_id"]
        if self.phone_number_id is not None and number != self.phone_number_id:
            message = f"Unsupported post request. Object with ID '{number}' does not exist"
            return self._answer(call, 400, error_body(100, message))
        problem = _check(call.json)
        if problem:
            return self._answer(call, 400, error_body(*problem))
        to = str(call.json["to"]).lstrip("+")
        wamid = new_wamid()
        message: dict[str, Any] = {"id": wamid}
        if call.json["type"] == "template":
            message["message_status"] = "accepted"
        body = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": call.json["to"], "wa_id": to}],
            "messages": [message],
        }
        self.messages[wamid] = call.json
        self._schedule_callbacks(number, wamid, to, call.json["type"] == "template")
        return self._answer(call, 200, body)

    # -- status webhooks -----------------------------------------------------------------

    def _schedule_callbacks(self, number: str, wamid: str, to: str, template: bool) -> None:
        if not self.webhook_url:
            return
        if to in self.closed_window and not template:
            flow: list[dict[str, Any]] = [
                whatsapp_status(
                    message_id=wamid,
                    status="failed",
                    recipient_id=to,
                    error_code=131047,
                    error_title="Re-engagement message",
                    error_details=REENGAGEMENT_DETAILS,
                )
            ]
        elif self.status_callbacks:
            flow = [
                whatsapp_status(message_id=wamid, status=s, recipient_id=to)
                for s in ("sent", "delivered", "read")
            ]
        else:
            return
        self.spawn(self._callbacks(number, flow))

    async def _callbacks(self, number: str, flow: list[dict[str, Any]]) -> None:
        async with ClientSession(timeout=ClientTimeout(total=15)) as session:
            for status in flow:
                await asyncio.sleep(self.callback_delay)
                payload = whatsapp_payload(statuses=[status], phone_number_id=number)
                try:
                    answer = await send_meta_webhook(
                        self.webhook_url, payload, self.app_secret, session=session
                    )
                    self.callbacks.append((payload, answer.status))
                except Exception:  # Meta would retry for days; the fake just notes the miss
                    self.callbacks.append((payload, 0))


def _check(message: Any) -> tuple[int, str] | None:
    """The validation Meta applies before accepting a message (the parts our adapter uses)."""
    if not isinstance(message, dict) or message.get("messaging_product") != "whatsapp":
        return 100, "(#100) The parameter messaging_product is required."
    if not message.get("to"):
        return 100, "(#100) The parameter to is required."
    kind = message.get("type", "text")
    if kind not in TYPES or not isinstance(message.get(kind), dict):
        return 100, f"(#100) Param {kind} is required"
    body = message[kind]
    if kind == "text" and not 0 < len(str(body.get("body", ""))) <= 4096:
        return 100, "(#100) Param text['body'] must be between 1 and 4096 characters long."
    if kind == "interactive":
        return _check_interactive(body)
    if kind == "template" and not (body.get("name") and (body.get("language") or {}).get("code")):
        return 100, "(#100) Param template['name'] and template['language'] are required."
    if kind in ("image", "audio", "video", "document", "sticker") and not (
        body.get("link") or body.get("id")
    ):
        return 100, f"(#100) Param {kind}['link'] or {kind}['id'] is required."
    return None


def _check_interactive(body: dict[str, Any]) -> tuple[int, str] | None:
    invalid = (131009, "(#131009) Parameter value is not valid")
    text = str((body.get("body") or {}).get("text", ""))
    if not 0 < len(text) <= 1024:
        return invalid
    action = body.get("action") or {}
    if body.get("type") == "button":
        buttons = action.get("buttons") or []
        titles = [str((b.get("reply") or {}).get("title", "")) for b in buttons]
        if not 0 < len(buttons) <= 3 or any(not 0 < len(t) <= 20 for t in titles):
            return invalid
        if len(set(titles)) != len(titles):
            return invalid  # button titles must be unique
        return None
    if body.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows", [])]
        if not 0 < len(rows) <= 10 or not 0 < len(str(action.get("button", ""))) <= 20:
            return invalid
        if any(not 0 < len(str(r.get("title", ""))) <= 24 for r in rows):
            return invalid
        if any(len(str(r.get("description", ""))) > 72 for r in rows):
            return invalid
        return None
    return invalid
