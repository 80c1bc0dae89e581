"""A fake Twilio Messages API: a real HTTP server answering like api.twilio.com.

    fake = FakeTwilio(account_sid, auth_token)
    base_url = await fake.start()          # OMNIGATE_TWILIO_API_URL
    fake.fail_next(1, status=429, retry_after=2)
    ...
    fake.calls[-1].form["Body"]

It checks basic auth (401 / 20003 otherwise), the documented required parameters (21604,
21603, 21602, 21617) and answers a Message resource with `sid` "SM…" and `status` "queued".
With `status_callbacks=True` it then posts signed status callbacks to the StatusCallback URL
it was given, like Twilio does. Numbers in `opted_out` get 21610; WhatsApp numbers in
`closed_window` get free-form messages accepted and then failed with 63016, as on Twilio.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from adapters import sms_encoding
from adapters.fakes.common import Failure, FakeServer, RecordedCall
from adapters.fakes.twilio_webhooks import (
    new_sid,
    send_twilio_webhook,
    twilio_status_params,
)

WHATSAPP = "whatsapp:"
ERRORS = {
    20003: "Authentication Error - invalid username",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    63016: "Failed to send freeform message because you are outside the allowed window.",
}


def error_body(status: int, code: int, message: str = "") -> dict[str, Any]:
    """Twilio's REST error shape."""
    return {
        "code": code,
        "message": message or ERRORS.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio(FakeServer):
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        status_callbacks: bool = False,
        callback_delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.status_callbacks = status_callbacks
        self.callback_delay = callback_delay
        self.opted_out: set[str] = set()
        self.closed_window: set[str] = set()
        self.messages: dict[str, dict[str, Any]] = {}
        # (url, params, gateway's HTTP status) of every status callback delivered.
        self.callbacks: list[tuple[str, dict[str, str], int]] = []

    def routes(self) -> list[web.RouteDef]:
        base = "/2010-04-01/Accounts/{sid}/Messages"
        return [web.post(base + ".json", self._create), web.get(base + "/{msid}.json", self._fetch)]

    def sent(self) -> list[RecordedCall]:
        """The message-creating calls that were accepted."""
        return [c for c in self.calls if c.method == "POST" and c.status == 201]

    # -- handlers ------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return (
            scheme.lower() == "basic"
            and request.match_info["sid"] == self.account_sid
            and (login, password) == (self.account_sid, self.auth_token)
        )

    def _answer(self, call: RecordedCall, status: int, body: Any, **headers: str) -> web.Response:
        call.status = status
        return web.json_response(body, status=status, headers=headers or None)

    async def _fail(self, call: RecordedCall, failure: Failure) -> web.Response:
        if failure.hang:
            await self.hang()
            return self._answer(call, 504, error_body(504, 20500, "hung"))
        code = failure.code or (20429 if failure.status == 429 else 20500)
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        body = error_body(failure.status, code, failure.message)
        return self._answer(call, failure.status, body, **headers)

    async def _create(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        if not self._authorized(request):
            return self._answer(call, 401, error_body(401, 20003))
        failure = self.take_failure()
        if failure is not None:
            return await self._fail(call, failure)
        problem = self._check(call.form)
        if problem:
            return self._answer(call, 400, error_body(400, problem))
        message = self._message(call)
        self.messages[message["sid"]] = message
        callback = call.form.get("StatusCallback", "")
        if callback:
            self._schedule_callbacks(callback, message, bool(call.form.get("ContentSid")))
        return self._answer(call, 201, message)

    async def _fetch(self, request: web.Request) -> web.Response:
        call = await self.record(request)
        if not self._authorized(request):
            return self._answer(call, 401, error_body(401, 20003))
        message = self.messages.get(request.match_info["msid"])
        if message is None:
            return self._answer(
                call, 404, error_body(404, 20404, "The requested resource was not found")
            )
        return self._answer(call, 200, message)

    def _check(self, form: dict[str, str]) -> int:
        to, sender = form.get("To", ""), form.get("From", "")
        if not to:
            return 21604
        if not sender and not form.get("MessagingServiceSid"):
            return 21603
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return 21602
        if len(form.get("Body", "")) > 1600:
            return 21617
        if sender and sender.startswith(WHATSAPP) != to.startswith(WHATSAPP):
            return 21910
        if to.removeprefix(WHATSAPP) in self.opted_out:
            return 21610
        return 0

    def _message(self, call: RecordedCall) -> dict[str, Any]:
        form = call.form
        sid = new_sid("MM" if form.get("MediaUrl") else "SM")
        now = format_datetime(datetime.now(UTC), usegmt=True)
        body = form.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", ""),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(call.getall("MediaUrl"))),
            "num_segments": str(max(1, sms_encoding.segments(body))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": form.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    # -- status callbacks ----------------------------------------------------------------

    def _schedule_callbacks(self, url: str, message: dict[str, Any], template: bool) -> None:
        to = message["to"]
        if to.startswith(WHATSAPP) and not template and to[len(WHATSAPP) :] in self.closed_window:
            # Twilio accepts the request; WhatsApp refuses it and the callback says why.
            flow = [("failed", 63016)]
        elif not self.status_callbacks:
            return
        elif to.startswith(WHATSAPP):
            flow = [("sent", None), ("delivered", None), ("read", None)]
        else:
            flow = [("sent", None), ("delivered", None)]
        self.spawn(self._callbacks(url, message, flow))

    async def _callbacks(
        self, url: str, message: dict[str, Any], flow: list[tuple[str, int | None]]
    ) -> None:
        async with ClientSession(timeout=ClientTimeout(total=15)) as session:
            for status, code in flow:
                await asyncio.sleep(self.callback_delay)
                message["status"] = status
                if code:
                    message["error_code"], message["error_message"] = code, ERRORS.get(code)
                params = twilio_status_params(
                    message_sid=message["sid"],
                    status=status,
                    from_=message["from"],
                    to=message["to"],
                    account_sid=self.account_sid,
                    error_code=code,
                )
                try:
                    answer = await send_twilio_webhook(
                        url, params, self.auth_token, session=session
                    )
                    self.callbacks.append((url, params, answer.status))
                except Exception:  # a gateway that is down misses the callback, like on Twilio
                    self.callbacks.append((url, params, 0))


def content_variables(call: RecordedCall) -> dict[str, str]:
    """The decoded ContentVariables of a recorded template send."""
    return json.loads(call.form.get("ContentVariables") or "{}")
