"""The hand-off state machine: which action may move a conversation from which state.

    bot ──handoff──> queued ──assign/claim──> agent ──release──> bot
     │                 │  └──release / timeout(bot)──> bot        │
     └──claim──> agent └──────────── close ──────> closed <── close┘

Every action names the states it may start from; anything else is an `IllegalTransition`
(HTTP 409) with the conversation's current state in the message.
"""

from __future__ import annotations

STATES = ("bot", "queued", "agent", "closed")

# Why a conversation was queued.
REASONS = ("customer_request", "bot_failed_twice", "handler", "agent_claimed", "transfer")

# action -> states it may start from
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    # From `agent`: a transfer back to the queue (another team, another agent).
    "handoff": ("bot", "agent"),
    # From `bot`: an agent steps in uninvited (recorded as reason agent_claimed).
    "claim": ("bot", "queued"),
    "assign": ("queued",),
    "release": ("queued", "agent"),
    "close": ("bot", "queued", "agent"),
    "reply": ("bot", "queued", "agent"),
    "timeout": ("queued",),
}


class HandoffError(Exception):
    """A refused hand-off action, with the HTTP status and error code the API answers."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(HandoffError):
    status = 404
    code = "not_found"


class Forbidden(HandoffError):
    status = 403
    code = "forbidden"


class IllegalTransition(HandoffError):
    status = 409
    code = "illegal_transition"


class Conflict(HandoffError):
    status = 409
    code = "conflict"


class Unreachable(HandoffError):
    status = 409
    code = "unreachable"


def check(action: str, state: str, conversation_id: int) -> None:
    allowed = ALLOWED_FROM[action]
    if state not in allowed:
        raise IllegalTransition(
            f"Cannot {action} conversation {conversation_id}: it is {state!r} "
            f"({action} works from {', '.join(allowed)})."
        )


_REASONS = {
    "en": {
        "customer_request": "the customer asked for a person",
        "bot_failed_twice": "the bot did not understand twice in a row",
        "handler": "the bot handed it over",
        "agent_claimed": "an agent stepped in",
        "transfer": "transferred",
    },
    "tr": {
        "customer_request": "müşteri bir temsilci istedi",
        "bot_failed_twice": "bot art arda iki kez anlamadı",
        "handler": "bot konuşmayı devretti",
        "agent_claimed": "bir temsilci devraldı",
        "transfer": "aktarıldı",
    },
}


def describe_reason(reason: str, language: str = "en") -> str:
    """A hand-off reason in words; a handler's own reason is shown as it is."""
    return _REASONS.get(language, _REASONS["en"]).get(reason, reason)
