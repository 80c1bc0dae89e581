"""What a handler sees during one turn. Handlers never see a channel SDK or a database."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.model import Address, Button, Inbound, Outbound

if TYPE_CHECKING:
    from bot.identity_actions import IdentityActions
    from bot.intents import IntentMatch, IntentMatcher


@dataclass(slots=True)
class DialogState:
    """The bot's dialog state; it belongs to the conversation, not to a channel."""

    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "data": self.data}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> DialogState:
        raw = raw or {}
        return cls(step=raw.get("step"), data=dict(raw.get("data") or {}))


class TranscriptEntry(NamedTuple):  # a tuple: twenty are built whenever a handler looks
    id: int
    channel: str
    direction: str
    sender: str
    text: str
    created_at: datetime


class Transcript(Sequence[TranscriptEntry]):
    """The customer's latest messages, oldest first, built from the stored rows on first
    use."""

    __slots__ = ("_entries", "_rows")

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = rows
        self._entries: list[TranscriptEntry] | None = None

    def _built(self) -> list[TranscriptEntry]:
        if self._entries is None:
            self._entries = [
                TranscriptEntry(
                    id=r.id,
                    channel=r.channel,
                    direction=r.direction,
                    sender=r.sender,
                    text=r.text,
                    created_at=r.created_at,
                )
                for r in self._rows
            ]
        return self._entries

    def __getitem__(self, index: Any) -> Any:
        return self._built()[index]

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: int
    display_name: str
    phone: str
    email: str
    identities: tuple[tuple[str, str], ...]  # (channel, external id)


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    state: str
    last_channel: str
    last_inbound: dict[str, str]


@dataclass(slots=True)
class Reply:
    outbound: Outbound
    channel: str | None = None  # None: the channel the customer last wrote on
    address: Address | None = None  # an explicit address (a verification code by SMS)


class TurnContext:
    """One bot turn: the message, who sent it, the thread, and what the bot decides to do."""

    def __init__(
        self,
        *,
        message: Inbound,
        customer: CustomerView,
        conversation: ConversationView,
        dialog: DialogState,
        history: Callable[[], Awaitable[Sequence[Any]]] | None,
        matcher: IntentMatcher | None,
        language: str,
        memory: dict[str, Any],
        identity_actions: IdentityActions | None = None,
    ) -> None:
        self.message = message
        self.customer = customer
        self.conversation = conversation
        self.dialog = dialog
        self._history = history
        self._transcript: Transcript | None = None
        self.language = language
        # Conversation-scoped facts the core keeps across turns (offered buttons, misses).
        self.memory = memory
        self.replies: list[Reply] = []
        self.handoff_reason: str | None = None
        self.handoff_team: str | None = None
        self.unhandled = False
        self.match: re.Match[str] | None = None
        self._matcher = matcher
        self._identity = identity_actions

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def payload(self) -> str:
        return self.message.payload

    @cached_property
    def intent(self) -> IntentMatch | None:
        """The matched intent; a button whose payload names an intent is that intent."""
        from bot.intents import IntentMatch

        if self.payload and self.payload.isidentifier():
            return IntentMatch(self.payload, 100.0)
        if self._matcher is None or not self.text.strip():
            return None
        return self._matcher.match(self.text)

    async def transcript(self) -> Transcript:
        """The customer's latest messages on every channel, oldest first, this one included.

        Read from storage when first asked for (then kept for the turn): most turns never
        look back, and reading twenty rows for each of them would cost more than the rest
        of the turn's reads."""
        if self._transcript is None:
            self._transcript = Transcript(await self._history() if self._history else [])
        return self._transcript

    def t(self, tr: str, en: str) -> str:
        """Pick the Turkish or English wording for this customer."""
        return en if self.language == "en" else tr

    async def reply(
        self,
        text: str | Outbound = "",
        *,
        buttons: list[Button] | list[tuple[str, str]] | None = None,
        channel: str | None = None,
    ) -> None:
        """Queue a reply; it is written to the outbox when the turn commits."""
        if isinstance(text, Outbound):
            outbound = text
        else:
            outbound = Outbound(
                text=text,
                buttons=[b if isinstance(b, Button) else Button(b[0], b[1]) for b in buttons or []],
            )
        self.replies.append(Reply(outbound, channel))

    async def link_code(self, channel: str) -> dict[str, Any] | None:
        """A deep link to continue this conversation on `channel`; None if not configured."""
        from bot.identity_actions import LinkUnavailable

        if self._identity is None:
            return None
        try:
            return await self._identity.create_link_code(self.customer.id, channel)
        except LinkUnavailable:
            return None

    async def verify_phone(self, phone: str, text: str) -> bool:
        """Send a one-time code to `phone` by SMS; `text` is the message, with `{code}` in it."""
        if self._identity is None:
            return False
        started = await self._identity.start_phone_verification(self.customer.id, phone)
        if started is None:
            return False
        code, address = started
        self.replies.append(
            Reply(Outbound(text=text.format(code=code), intent="otp"), address=address)
        )
        return True

    async def confirm_phone(self, code: str) -> str | None:
        """Check a one-time code; on success the phone is linked and returned."""
        if self._identity is None:
            return None
        return await self._identity.confirm_phone(self.customer.id, code)

    def handoff(self, reason: str = "customer_request", team: str | None = None) -> None:
        """Ask for a human: the conversation is queued and the bot stops answering."""
        self.handoff_reason = reason
        self.handoff_team = team  # None: any online agent; a name: only that team auto-assigned

    def goto(self, step: str | None, **data: Any) -> None:
        self.dialog.step = step
        self.dialog.data.update(data)

    def reset(self) -> None:
        self.dialog.step = None
        self.dialog.data.clear()
