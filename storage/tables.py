"""SQLAlchemy tables: one schema for SQLite (embedded) and PostgreSQL (scale-out).

Alembic migrations under `storage/migrations` create and evolve these; the models here are the
source the migrations are generated from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite stores naive text and would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use bot.model.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for volume.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: UTCDateTime(),
    }


class KeyValue(Base):
    """Instance-wide facts, such as the generated secret that signs web chat sessions."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CustomerRow(Base):
    __tablename__ = "customers"
    # A new SMS or WhatsApp sender is matched to the customer who already has that phone
    # (or email), before a customer is made for it: without these, a scan of every customer.
    __table_args__ = (
        Index("ix_customers_phone", "phone"),
        Index("ix_customers_email", "email"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set when the customer is erased (KVKK/GDPR); the row stays, anonymized, for references.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when merged into another customer.
    merged_into: Mapped[int | None] = mapped_column(Id, default=None)
    # The phone was proven (provider-delivered SMS/WhatsApp, shared own Telegram contact, OTP).
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)


class IdentityRow(Base):
    """One way to reach a customer: (channel, external id), e.g. ("sms", "+905551112233")."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # How the identity joined its customer: first_contact, same_phone, shared_contact, …
    link_reason: Mapped[str] = mapped_column(String(50), default="first_contact")
    # The last address we saw it on (provider + our account), so we can reach it later.
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    opt_source: Mapped[str] = mapped_column(String(200), default="")
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class ConversationRow(Base):
    """One thread per customer across channels; a closed thread is followed by a new one."""

    __tablename__ = "conversations"
    __table_args__ = (
        # At most one open conversation per customer.
        Index(
            "uq_open_conversation",
            "customer_id",
            unique=True,
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        # The queue and "my conversations" (bot/handoff.py).
        Index("ix_conversations_state_assignee", "state", "assignee_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="bot")
    handoff_reason: Mapped[str] = mapped_column(String(50), default="")
    assignee_id: Mapped[int | None] = mapped_column(Id, default=None)
    team: Mapped[str] = mapped_column(String(100), default="")
    dialog: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # channel -> ISO time of the customer's last message there (reply windows).
    last_inbound: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_channel: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Human hand-off (bot/handoff.py). queued_at is the latest entry to the queue (the unclaimed
    # timeout counts from it); handed_off_at the first one (time to first agent reply).
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_off_at: Mapped[datetime | None] = mapped_column(default=None)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set by the one worker that acted on an unclaimed queue entry (notice + fallback).
    queue_timeout_at: Mapped[datetime | None] = mapped_column(default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    # The agent who transferred it, while it waits: automatic assignment passes them over.
    transferred_from: Mapped[int | None] = mapped_column(Id, default=None)
    first_agent_reply_at: Mapped[datetime | None] = mapped_column(default=None)
    # Closed by an agent or the API (closed_at is also set by merges, which resolve nothing).
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    csat_asked_at: Mapped[datetime | None] = mapped_column(default=None)
    csat_score: Mapped[int | None] = mapped_column(Integer, default=None)
    csat_comment: Mapped[str] = mapped_column(Text, default="")


class MessageRow(Base):
    """Append-only transcript. Inbound rows carry their turn status (the per-conversation
    inbox): `pending` until the bot turn that answers them commits."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_message_provider_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_customer", "customer_id", "id"),
        Index("ix_messages_pending", "turn_status", "conversation_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(30), default="")
    sender: Mapped[str] = mapped_column(String(10))  # customer | bot | agent | system
    agent_id: Mapped[int | None] = mapped_column(Id, default=None)
    kind: Mapped[str] = mapped_column(String(20), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media: Mapped[list[Any]] = mapped_column(JSON, default=list)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # Outbound: pending, held, queued, sent, delivered, read, undelivered, failed.
    delivery_status: Mapped[str] = mapped_column(String(20), default="")
    error_code: Mapped[str] = mapped_column(String(50), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    segments: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[bool] = mapped_column(Boolean, default=False)
    # Inbound: pending (waiting for its bot turn), done, skipped (agent owns it, edits, …).
    turn_status: Mapped[str | None] = mapped_column(String(10), default=None)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboxRow(Base):
    """An effect to perform: one message to send. Written in the same transaction as the
    state change that caused it; leased by a sender, so two workers never send it twice."""

    __tablename__ = "outbox"
    # Each conversation's queue head (its lowest pending id) read from the index alone; also
    # serves every other lookup by status.
    __table_args__ = (Index("ix_outbox_heads", "status", "conversation_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(Id, index=True)
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class MergeRow(Base):
    """A merge of `other_id` into `customer_id`, with what moved, so it can be undone exactly."""

    __tablename__ = "merges"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(Id, index=True)
    other_id: Mapped[int] = mapped_column(Id, index=True)
    reason: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100), default="")
    # Previous owners of every identity, conversation, message and outbox row that moved.
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None] = mapped_column(default=None)


class LinkCodeRow(Base):
    """One-time codes: deep links to continue on another channel, and phone verification."""

    __tablename__ = "link_codes"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # deeplink | otp
    customer_id: Mapped[int] = mapped_column(Id, index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # For an OTP: the phone number being verified (E.164).
    target: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class AuditRow(Base):
    """What happened to customers' data (links, merges, exports, erasures); no personal data."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(50))
    customer_id: Mapped[int | None] = mapped_column(Id, index=True, default=None)
    actor: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class AgentRow(Base):
    """A person who answers customers (console, Slack). Only a hash of the token is stored."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(10), default="agent")  # agent | admin
    status: Mapped[str] = mapped_column(String(10), default="away")  # online | away
    max_concurrent: Mapped[int] = mapped_column(Integer, default=5)
    # sha256 hex of the bearer token; NULL for the built-in admin (it uses OMNIGATE_API_TOKEN).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    slack_user_id: Mapped[str] = mapped_column(String(50), default="", index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class AgentTeamRow(Base):
    __tablename__ = "agent_teams"
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True, index=True)


class SlackThreadRow(Base):
    """The Slack thread of a handed-off conversation (bot/slack_mirror.py).

    A row with an empty `thread_ts` is a reservation: the worker that inserted it is posting
    the thread's first message; `reserved_at` lets another worker take over a stale one.
    """

    __tablename__ = "slack_threads"
    __table_args__ = (Index("ix_slack_threads_ts", "channel", "thread_ts"),)
    conversation_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(50))
    thread_ts: Mapped[str] = mapped_column(String(32), default="")
    # The newest message of the conversation the first post's transcript shows.
    covered_message_id: Mapped[int] = mapped_column(Id, default=0)
    reserved_at: Mapped[datetime]
    created_at: Mapped[datetime]
