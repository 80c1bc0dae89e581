"""Capturing the customer's CSAT answer (texts and parsing in bot/csat.py).

After a close the customer writes again, which opens a new conversation; if that first
message is a rating, it is stored on the closed conversation, thanked, and the turn is
finished without the bot, all in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import csat
from bot.handoff_steps import lock
from bot.metrics import Metrics
from bot.model import Outbound, Sender
from bot.thread import Change, Effects, language_of, system_note, to_customer
from storage import handoff as queue
from storage import turn_state
from storage.tables import MessageRow


class _AlreadyAnswered(Exception):
    """Another worker finished this turn: roll back what this one wrote."""


async def capture(
    row: MessageRow, change: Change[bool], default_language: str, metrics: Metrics
) -> bool:
    """True when `row` answered the rating question (stored, thanked, turn finished)."""
    answer = csat.parse(row.text, str((row.payload or {}).get("payload", "")))
    if answer is None:
        return False
    score, comment = answer

    async def work(session: AsyncSession, effects: Effects, now: datetime) -> bool:
        rated = await queue.rating_awaited(session, row.customer_id, now - csat.WINDOW)
        if rated is None or rated.id == row.conversation_id:
            return False
        # Only the customer's first message after the question is an answer.
        if await queue.earlier_inbound_exists(session, row.conversation_id, row.id):
            return False
        if not await queue.store_rating(session, rated.id, score, comment):
            return False
        if not await turn_state.finish_turn(session, row.id, "done"):
            raise _AlreadyAnswered
        current = await lock(session, row.conversation_id, now)
        lang = language_of(rated, default_language)
        await to_customer(
            session,
            current,
            Outbound(text=csat.thanks(lang), intent="csat_thanks"),
            Sender.BOT,
            now,
            effects,
            language=lang,
        )
        await system_note(
            session,
            rated,
            f"Customer rated the conversation {score}/5" + (f": {comment}" if comment else ""),
            now,
            effects,
            tr=f"Müşteri konuşmaya {score}/5 puan verdi" + (f": {comment}" if comment else ""),
            event="rated",
            score=score,
        )
        rated.csat_score = score
        effects.conversation(rated, "rated", csat_score=score)
        effects.after.append(metrics.csat.labels(str(score)).inc)
        return True

    try:
        return await change(work)
    except _AlreadyAnswered:
        return True
