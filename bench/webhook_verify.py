"""After a webhook run: each message stored once and answered once, in the database and at
the provider.

Read from the database once the gateway has stopped: the inbound rows by Twilio MessageSid,
the bot's replies by the customer's phone and the order number they quote (greetings by
phone only), the outbox and the turn status. Every key of the result must be 0. Then the
whole run's verdict: those counts, client-side errors, the server's exit and its log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text

from bench.webhook_traffic import GREETING_REPLY, NUMBER, Ledger, Webhook
from storage.database import create_engine

INBOUND = (
    "SELECT provider_message_id, count(*) FROM messages "
    "WHERE direction = 'in' AND channel = 'sms' GROUP BY provider_message_id"
)
REPLIES = (
    "SELECT i.external_id, m.text FROM messages m "
    "JOIN identities i ON i.customer_id = m.customer_id AND i.channel = 'sms' "
    "WHERE m.direction = 'out' AND m.sender = 'bot'"
)
OUTBOX = "SELECT status, count(*) FROM outbox GROUP BY status"
TURNS = "SELECT turn_status, count(*) FROM messages WHERE direction = 'in' GROUP BY turn_status"


async def _rows(database_url: str) -> dict[str, list[Any]]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return {
                name: list((await conn.execute(text(sql))).all())
                for name, sql in (
                    ("inbound", INBOUND),
                    ("replies", REPLIES),
                    ("outbox", OUTBOX),
                    ("turns", TURNS),
                )
            }
    finally:
        await engine.dispose()


def _stored_replies(rows: list[Any]) -> tuple[Counter[tuple[str, str]], Counter[str], int]:
    """(phone, number) of order answers, phones of greetings, and how many are neither."""
    orders: Counter[tuple[str, str]] = Counter()
    greetings: Counter[str] = Counter()
    other = 0
    for phone, body in rows:
        numbers = set(NUMBER.findall(body or ""))
        if len(numbers) == 1:
            orders[(phone, numbers.pop())] += 1
        elif not numbers and (body or "").startswith(GREETING_REPLY):
            greetings[phone] += 1
        else:
            other += 1
    return orders, greetings, other


def compare(rows: dict[str, list[Any]], webhooks: list[Webhook], ledger: Ledger) -> dict[str, int]:
    inbound = Counter({str(sid): int(n) for sid, n in rows["inbound"]})
    sent = {w.sid for w in webhooks if w.sent is not None}
    # A webhook that got an error may still have been stored; then it must be answered too.
    stored = [w for w in webhooks if w.sid in inbound]
    orders, greetings, other = _stored_replies(rows["replies"])
    expected_orders = Counter((w.phone, w.number) for w in stored if w.number is not None)
    expected_greetings = Counter(w.phone for w in stored if w.number is None)
    counts = {
        "lost_inbound": sum(1 for w in webhooks if w.ok and w.sid not in inbound),
        "duplicate_inbound": sum(n - 1 for n in inbound.values() if n > 1),
        "unexpected_inbound": sum(1 for sid in inbound if sid not in sent),
        "lost_replies": sum(1 for k in expected_orders if not orders[k])
        + sum(max(0, n - greetings[p]) for p, n in expected_greetings.items()),
        "duplicate_replies": sum(max(0, orders[k] - 1) for k in expected_orders)
        + sum(max(0, greetings[p] - n) for p, n in expected_greetings.items()),
        "unexpected_replies": other
        + sum(n for k, n in orders.items() if k not in expected_orders)
        + sum(n for p, n in greetings.items() if p not in expected_greetings),
        "outbox_not_sent": sum(int(n) for status, n in rows["outbox"] if status != "sent"),
        "turns_not_done": sum(int(n) for status, n in rows["turns"] if status != "done"),
        # At the fake provider: exactly one SMS per stored message.
        "provider_lost": sum(1 for w in stored if not w.replies),
        "provider_duplicates": sum(max(0, len(w.replies) - 1) for w in stored) + ledger.unexpected,
        "provider_wrong": ledger.wrong,
    }
    return counts


async def verify(database_url: str, webhooks: list[Webhook], ledger: Ledger) -> dict[str, Any]:
    rows = await _rows(database_url)
    return {
        "stored_inbound": sum(int(n) for _sid, n in rows["inbound"]),
        "stored_replies": len(rows["replies"]),
        "outbox": {str(status): int(n) for status, n in rows["outbox"]},
    } | compare(rows, webhooks, ledger)


LOST_KEYS = ("lost_inbound", "lost_replies", "provider_lost")
DUPLICATE_KEYS = ("duplicate_inbound", "duplicate_replies", "provider_duplicates")
OTHER_KEYS = (
    "unexpected_inbound",
    "unexpected_replies",
    "outbox_not_sent",
    "turns_not_done",
    "provider_wrong",
)


def correctness(result: dict[str, Any]) -> dict[str, Any]:
    """Lost and duplicated totals, and every problem of a gateway run (none: ok)."""
    stored = result["stored"]
    phases = [result[name] for name in ("warmup", "burst", "conversations")]
    lost = sum(stored[k] for k in LOST_KEYS)
    duplicated = sum(stored[k] for k in DUPLICATE_KEYS)
    problems = []
    errors = sum(p["errors"] for p in phases)
    if errors:
        kinds = [p["error_kinds"] for p in phases if p["errors"]]
        problems.append(f"{errors} client-side errors {kinds}")
    if lost or duplicated:
        problems.append(f"{lost} lost, {duplicated} duplicated")
    problems += [f"{stored[k]} {k}" for k in OTHER_KEYS if stored[k]]
    if result["conversations"]["deadline_hit"]:
        problems.append("conversations: deadline hit, not every message was sent")
    for name in ("warmup", "burst", "conversations"):
        if not result[name].get("drained", True):
            problems.append(f"{name}: replies still missing when waiting stopped")
    if sorted(result["pids"]) != sorted(result["pids_after"]):
        problems.append(
            f"workers changed during the run: {result['pids']} -> {result['pids_after']}"
        )
    server = result["server"]
    if server["exit_code"] != 0:
        problems.append(f"server exit code {server['exit_code']}")
    if server["error_lines"]:
        problems.append(f"{server['error_lines']} error lines in the server log")
    return {"lost": lost, "duplicated": duplicated, "problems": problems, "ok": not problems}
