"""Wire details of the fake Slack Web API: reading a call's arguments the ways Slack accepts
them (JSON body, form body, query string), the bearer token, and Block Kit's limits."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.fakes.common import RecordedCall

MAX_TEXT = 40_000
MAX_BLOCKS = 50


class SlackApiError(Exception):
    """An `{"ok": false, "error": code}` answer (HTTP 200, as Slack answers most errors)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


async def read_args(request: web.Request, call: RecordedCall) -> dict[str, Any]:
    """Arguments from the query string, then the form or JSON body; JSON strings in form
    fields (blocks) decoded."""
    args: dict[str, Any] = dict(request.query)
    if call.json is not None:
        if not isinstance(call.json, dict):
            raise SlackApiError("invalid_json")
        args.update(call.json)
    elif call.params:
        args.update(call.form)
    elif request.content_type == "application/json":
        raise SlackApiError("invalid_json")
    for name in ("blocks", "attachments"):
        if isinstance(args.get(name), str):
            try:
                args[name] = json.loads(args[name])
            except ValueError:
                raise SlackApiError("invalid_blocks_format") from None
    return args


def bearer_token(request: web.Request, args: dict[str, Any]) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return str(args.get("token") or "")


def check_message(args: dict[str, Any]) -> None:
    """chat.postMessage / chat.update arguments as Slack checks them."""
    text, blocks = args.get("text"), args.get("blocks")
    if not text and not blocks:
        raise SlackApiError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise SlackApiError("msg_too_long")
    if blocks is not None:
        problems = block_problems(blocks)
        if problems:
            raise SlackApiError("invalid_blocks", errors=problems)


def block_problems(blocks: Any) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    problems: list[str] = []
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type {where}")
            continue
        kind = block["type"]
        if kind == "section":
            problems += _section(block, where)
        elif kind == "actions":
            problems += _actions(block, where)
        elif kind == "context":
            if not 1 <= len(block.get("elements") or []) <= 10:
                problems.append(f"must have 1-10 elements {where}")
    return problems


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def _section(block: dict[str, Any], where: str) -> list[str]:
    problems = []
    if "text" not in block and "fields" not in block:
        problems.append(f"must provide either text or fields {where}")
    if _text_len(block.get("text")) > 3000:
        problems.append(f"text must be less than 3001 characters {where}")
    fields = block.get("fields") or []
    if len(fields) > 10:
        problems.append(f"no more than 10 items allowed {where}")
    problems += [
        f"field {n} longer than 2000 {where}" for n, f in enumerate(fields) if _text_len(f) > 2000
    ]
    return problems


def _actions(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    if not 1 <= len(elements) <= 25:
        return [f"must have 1-25 elements {where}"]
    problems = []
    ids = [e.get("action_id") for e in elements if isinstance(e, dict)]
    if len(ids) != len(set(ids)):
        problems.append(f"action_id values must be unique {where}")
    for element in elements:
        if element.get("type") == "button":
            if not 0 < _text_len(element.get("text")) <= 75:
                problems.append(f"button text must be 1-75 characters {where}")
            if len(str(element.get("value", ""))) > 2000:
                problems.append(f"button value longer than 2000 {where}")
    return problems


def error_body(code: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, **extra}
