"""The Bot API's wire shapes for the fake: reading parameters, wording errors like Telegram.

Form bodies carry nested values (reply_markup, allowed_updates…) as JSON strings; errors are
``{"ok": false, "error_code": n, "description": "…"}`` with the descriptions Telegram uses.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from adapters.fakes.common import Failure, RecordedCall

# Bot API parameters that travel as JSON-serialized strings in form bodies.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


async def read_params(request: web.Request, call: RecordedCall) -> dict[str, Any]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query)
    if isinstance(call.json, dict):
        params.update(call.json)
    elif call.params:
        params.update(call.form)
    elif request.content_type == "multipart/form-data":
        form = await request.post()
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else f"<upload {value.filename}>"
        call.params = [(k, str(v)) for k, v in params.items()]
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass  # left a string: the method answers 400 "can't parse"
    return params


def int_param(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: wrong parameter {key}") from None


def flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def caption_field(params: dict[str, Any]) -> dict[str, Any]:
    caption = params.get("caption")
    if not caption:
        return {}
    if len(str(caption)) > 1024:
        raise ApiError(400, "Bad Request: message caption is too long")
    return {"caption": str(caption)}


def inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply / remove keyboards: not checked here
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
            "must be an Array of Arrays",
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def error_response(
    call: RecordedCall,
    status: int,
    description: str,
    parameters: dict[str, Any] | None = None,
    *,
    code: int | None = None,
) -> web.Response:
    call.status = status
    body: dict[str, Any] = {"ok": False, "error_code": code or status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def failure_response(call: RecordedCall, failure: Failure) -> web.Response:
    """A scripted failure, worded as Telegram words it."""
    status = failure.status
    if status in (502, 503, 504):  # what the front proxy answers: HTML, not the API's JSON
        call.status = status
        reason = HTTPStatus(status).phrase
        html = (
            f"<html><head><title>{status} {reason}</title></head><body>"
            f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
        )
        return web.Response(status=status, text=html, content_type="text/html")
    if status == 429:
        retry_after = int(failure.retry_after or 1)
        description = failure.message or f"Too Many Requests: retry after {retry_after}"
        return error_response(call, 429, description, {"retry_after": retry_after})
    defaults = {
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        500: "Internal Server Error",
    }
    description = failure.message or defaults.get(status, HTTPStatus(status).phrase)
    return error_response(call, status, description, code=failure.code)
